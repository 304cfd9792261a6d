/**
 * Backdoor calls per second through the addon against a plain C loop doing the same `in`,
 * measured in the same QEMU TCG guest in the same run (issue: foundation). Absolute numbers
 * differ between machines (docs/testing.md §5); the ratio is what we track.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGuest } from '@vmw9/qemu-harness';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const N = Number(process.env['VMW9_BENCH_CALLS'] ?? 200_000);

it(`backdoor GETVERSION calls/s: addon vs C loop (${N} calls each, one TCG guest)`, async () => {
  const out = join(root, 'node_modules/.cache/vmw9-bench');
  mkdirSync(out, { recursive: true });
  const loop = join(out, 'bench-loop');
  execFileSync('gcc', [
    '-O2',
    '-static',
    '-o',
    loop,
    fileURLToPath(new URL('./bench-loop.c', import.meta.url)),
  ]);
  const r = await runGuest({
    qemuArgs: ['-machine', 'pc,vmport=on'],
    command: [
      'sh',
      '-c',
      `${loop} ${N}; node packages/backdoor-native/bench/guest-calls.mjs ${N}; ${loop} ${N}`,
    ],
    timeoutMs: 300_000,
  });
  expect(r.exitCode).toBe(0);
  // The C loop runs before and after node; take the faster of the two as the peer.
  const cRuns = [...r.stdout.matchAll(/calls=(\d+) ns=(\d+) version=6/g)].map(
    (m) => Number(m[1]) / (Number(m[2]) / 1e9),
  );
  expect(cRuns).toHaveLength(2);
  const c = Math.max(...cRuns);
  const j = JSON.parse(/BENCH (\{.*\})/.exec(r.stdout)![1]!);
  const rate = (x: { calls: number; ns: number }) => x.calls / (x.ns / 1e9);
  const rows = {
    'C loop (peer)': c,
    'addon (binding.lowBandwidth)': rate(j.addon),
    'addon, bound block': rate(j.addonBound),
    'NativeBackdoorPort.callSync': rate(j.callSync),
    'await NativeBackdoorPort.call': rate(j.call),
  };
  const lines = Object.entries(rows).map(
    ([k, v]) =>
      `${k.padEnd(32)} ${(v / 1000).toFixed(0).padStart(8)} k calls/s   ratio to C ${(v / c).toFixed(3)}  (${(1e9 / v).toFixed(0)} ns/call)`,
  );
  const report = [
    `backdoor calls in one QEMU TCG guest, ${N} GETVERSION calls each, boot ${r.bootMs} ms, wall ${r.wallMs} ms`,
    ...lines,
  ].join('\n');
  console.log(report);
  mkdirSync(join(root, '.reports/bench'), { recursive: true });
  writeFileSync(join(root, '.reports/bench/backdoor-calls.txt'), `${report}\n`);
});
