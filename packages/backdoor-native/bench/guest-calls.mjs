// Runs inside the QEMU guest: N GETVERSION calls three ways, each timed:
//   addon      the compiled binding directly (one Uint32Array, in place)
//   addonBound the binding on a pre-bound block (no argument crosses into native code)
//   callSync   NativeBackdoorPort.callSync (argument checks + object registers)
//   call       the async BackdoorPort.call every layer above uses
// Prints one JSON line: { addon: {calls, ns}, callSync: {...}, call: {...} }.
import { BDOOR_MAGIC, Cmd, callRegisters } from '@vmw9/backdoor';
import { detect, loadBinding, NativeBackdoorPort } from '../dist/index.js';

const n = Number(process.argv[2] ?? 100000);
// Detect first: the raw binding below would fault this process where no backdoor answers.
const d = detect();
if (!d.available) throw new Error(`no backdoor in the benchmark guest: ${d.message}`);
const binding = loadBinding();
// GETVERSION as VmCheck sends it: ebx = ~magic, ecx.hi = 0xffff.
const regs = callRegisters(Cmd.GETVERSION, { ebx: ~BDOOR_MAGIC >>> 0, sub: 0xffff });
const block = new Uint32Array(7);

function time(fn) {
  for (let i = 0; i < Math.min(n, 2000); i++) fn(); // warm-up: let V8 optimise the loop
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return { calls: n, ns: Number(process.hrtime.bigint() - t0) };
}

const addon = time(() => {
  block[0] = BDOOR_MAGIC;
  block[1] = ~BDOOR_MAGIC >>> 0;
  block[2] = 0xffff000a;
  block[3] = 0x5658;
  binding.lowBandwidth(block);
});
if (block[1] !== BDOOR_MAGIC) throw new Error('the backdoor did not answer during the benchmark');
const bound = new Uint32Array(7);
binding.bindBlock(bound);
const addonBound = time(() => {
  bound[0] = BDOOR_MAGIC;
  bound[1] = ~BDOOR_MAGIC >>> 0;
  bound[2] = 0xffff000a;
  bound[3] = 0x5658;
  binding.lowBandwidthBound();
});
const port = NativeBackdoorPort.open(); // binds its own block
const callSync = time(() => port.callSync(regs));
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) await port.call(regs);
const call = { calls: n, ns: Number(process.hrtime.bigint() - t0) };
console.log(`BENCH ${JSON.stringify({ addon, addonBound, callSync, call })}`);
