// Runs under vmx-trap: detection (forced, or by the faked VMware CPUID), then one RPCI through
// our real stack, @vmw9/msgchan over NativeBackdoorPort: `in` for the GuestMsg steps, `rep outsb`
// and `rep insb` for the payloads (high bandwidth). Prints one JSON line.
import { createHash } from 'node:crypto';
import { MessageChannel, PROTOCOL_RPCI } from '@vmw9/msgchan';
import { NativeBackdoorPort } from '../../dist/index.js';

const port = NativeBackdoorPort.open();
const ch = await MessageChannel.open(port, PROTOCOL_RPCI);
const reply = await ch.exchange(Buffer.from(process.argv[2] ?? 'info-get guestinfo.k'));
await ch.close();
console.log(
  JSON.stringify({
    detection: port.detection.reason,
    cookies: ch.cookies,
    calls: ch.stats.calls,
    length: reply.length,
    head: reply.subarray(0, 16).toString(),
    sha: createHash('sha256').update(reply).digest('hex'),
  }),
);
