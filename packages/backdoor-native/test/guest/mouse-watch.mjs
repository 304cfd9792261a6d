// Runs inside the QEMU guest: enables the vmmouse in absolute mode through @vmw9/backdoor over
// @vmw9/backdoor-native, prints READY, then one `PKT {json}` line per packet until `want`
// packets arrived, a packet at the stop position (x,y) arrives, or the time is up. The host drives
// QMP input-send-event meanwhile.
import { VmMouseDevice } from '@vmw9/backdoor';
import { NativeBackdoorPort } from '../../dist/index.js';

const want = Number(process.argv[2] ?? 1);
const deadline = Date.now() + Number(process.argv[3] ?? 60000);
const [stopX, stopY] = (process.argv[4] ?? '-1,-1').split(',').map(Number);
const port = NativeBackdoorPort.open();
const mouse = new VmMouseDevice(port);
const id = await mouse.enable();
await mouse.requestAbsolute();
console.log(`READY id=0x${id.toString(16)}`);
let got = 0;
let stop = false;
while (got < want && !stop && Date.now() < deadline) {
  for (const p of await mouse.readPackets()) {
    console.log(`PKT ${JSON.stringify(p)}`);
    got++;
    stop ||= p.x === stopX && p.y === stopY;
  }
  await new Promise((r) => setTimeout(r, 2));
}
await mouse.disable();
console.log(`DONE ${got}`);
