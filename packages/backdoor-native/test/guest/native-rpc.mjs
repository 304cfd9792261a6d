// Runs under vmx-trap: detection (forced or by the faked VMware CPUID), then one RPCI over the real
// instructions: OPEN/SENDSIZE/RECVSIZE/RECVSTATUS/CLOSE with `in`, the payloads with `rep outsb` and
// `rep insb` (high bandwidth). Prints one JSON line.
import { BDOOR_MAGIC, BDOOR_PORT, BDOORHB_PORT } from '@vmw9/backdoor';
import { NativeBackdoorPort } from '../../dist/index.js';

const port = NativeBackdoorPort.open();
const request = Buffer.from(process.argv[2] ?? 'info-get guestinfo.k');
const lb = (sub, ch, ebx = 0) =>
  port.callSync({
    eax: BDOOR_MAGIC,
    ebx: ebx >>> 0,
    ecx: ((sub << 16) | 30) >>> 0,
    edx: (((ch?.id ?? 0) << 16) | BDOOR_PORT) >>> 0,
    esi: ch?.hi ?? 0,
    edi: ch?.lo ?? 0,
    ebp: 0,
  });
const st = (r) => r.ecx >>> 16;

const o = lb(0, null, (0x49435052 | 0x80000000) >>> 0);
const ch = { id: o.edx >>> 16, hi: o.esi, lo: o.edi };
const size = lb(1, ch, request.length);
if (!(st(size) & 0x80)) throw new Error(`no HB offered (status 0x${st(size).toString(16)})`);
const out = port.hbOutSync(
  {
    eax: BDOOR_MAGIC,
    ebx: 0x10000,
    ecx: 0,
    edx: ((ch.id << 16) | BDOORHB_PORT) >>> 0,
    esi: 0,
    edi: ch.lo,
    ebp: ch.hi,
  },
  request,
);
const rs = lb(3, ch);
const reply = Buffer.alloc(rs.ebx);
const inn = port.hbInSync(
  {
    eax: BDOOR_MAGIC,
    ebx: 0x10000,
    ecx: 0,
    edx: ((ch.id << 16) | BDOORHB_PORT) >>> 0,
    esi: ch.hi,
    edi: 0,
    ebp: ch.lo,
  },
  reply,
);
const ack = lb(5, ch, 1);
lb(6, ch);
console.log(
  JSON.stringify({
    detection: port.detection.reason,
    hbOutStatus: out.ebx >>> 16,
    hbInStatus: inn.ebx >>> 16,
    ackStatus: st(ack),
    length: reply.length,
    head: reply.subarray(0, 16).toString(),
    sha: (await import('node:crypto')).createHash('sha256').update(reply).digest('hex'),
  }),
);
