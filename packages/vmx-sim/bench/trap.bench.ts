/**
 * vmx-sim and vmx-trap in numbers, one run:
 *  - backdoor calls of `vmware-rpctool 'info-get guestinfo.foo'` (open-vm-tools 12, unmodified) over
 *    high bandwidth and over the 4-byte path, from the simulator's call log;
 *  - the launcher's cost per trapped call (a C loop of GETVERSION under vmx-trap), against the same
 *    calls made without ptrace through the socket (SocketBackdoorPort) and in-process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BDOOR_MAGIC, Cmd, callRegisters } from '@vmw9/backdoor';
import { expect, it } from 'vitest';
import { SimBackdoorPort, SocketBackdoorPort, serveHost, VmxHost } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const trap = join(root, 'packages/vmx-sim-linux-x64/vmx-trap');
const bd = join(root, 'packages/vmx-sim-linux-x64/build/testprogs/bd');
const N = Number(process.env['VMW9_BENCH_TRAPS'] ?? 20000);
// GETVERSION as VmCheck sends it: ebx = ~magic, ecx.hi = 0xffff.
const getversion = callRegisters(Cmd.GETVERSION, { ebx: ~BDOOR_MAGIC >>> 0, sub: 0xffff });

it('rpctool call counts and the cost of a trapped call', async () => {
  const lines: string[] = [];
  for (const hb of [true, false]) {
    const host = new VmxHost({ hb });
    const path = join(mkdtempSync(join(tmpdir(), 'vmx-bench-')), 'h.sock');
    const server = await serveHost(host, path);
    host.rpci.setGuestinfo('guestinfo.foo', 'bar-from-bdtrap');
    // Asynchronous spawn: a synchronous one would block this process, which serves the host.
    const out = await new Promise<string>((resolve) => {
      const c = spawn(trap, [
        '--host',
        `unix!${path}`,
        '--cpuid',
        'vmware',
        '-q',
        '--',
        'vmware-rpctool',
        'info-get guestinfo.foo',
      ]);
      let s = '';
      c.stdout.on('data', (d) => (s += d));
      c.on('close', () => resolve(s));
    });
    expect(out).toBe('bar-from-bdtrap\n');
    const seq = host.log.entries().map((e) => e.name);
    const counts = host.log.counts();
    lines.push(
      `rpctool info-get (${hb ? 'high bandwidth' : '4-byte path'}): ${seq.length} backdoor calls: ${Object.entries(
        counts,
      )
        .map(([k, v]) => `${k}×${v}`)
        .join(', ')}`,
    );
    lines.push(`  sequence: ${seq.join(' ')}`);
    await server.close();
  }

  // The launcher's cost: N GETVERSIONs from a C loop under vmx-trap, against the same N through the socket without ptrace.
  const host = new VmxHost();
  const path = join(mkdtempSync(join(tmpdir(), 'vmx-bench-')), 'h.sock');
  const server = await serveHost(host, path);
  const viaTrap = await new Promise<number>((resolve) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(trap, ['--host', `unix!${path}`, '--cpuid', 'pass', '-q', '--', bd, 'bench', String(N)]);
    c.on('close', () => resolve(Number(process.hrtime.bigint() - t0) / 1e3 / N));
  });
  const sock = await SocketBackdoorPort.connect(path);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await sock.call(getversion);
  const viaSocket = Number(process.hrtime.bigint() - t0) / 1e3 / N;
  await sock.close();
  const inproc = new SimBackdoorPort(host);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await inproc.call(getversion);
  const inProcess = Number(process.hrtime.bigint() - t0) / 1e3 / N;
  await server.close();
  expect(host.log.counts()['GETVERSION']).toBeGreaterThanOrEqual(3 * N);
  lines.push(
    `trapped call (C loop under vmx-trap, ${N} GETVERSION, process start included): ${viaTrap.toFixed(1)} µs/call`,
  );
  lines.push(
    `same calls over the socket without ptrace (SocketBackdoorPort):         ${viaSocket.toFixed(1)} µs/call   trap/socket ratio ${(viaTrap / viaSocket).toFixed(1)}`,
  );
  lines.push(
    `same calls in-process (SimBackdoorPort):                                 ${inProcess.toFixed(2)} µs/call   trap/in-process ratio ${(viaTrap / inProcess).toFixed(0)}`,
  );
  const report = lines.join('\n');
  console.log(report);
  mkdirSync(join(root, '.reports/bench'), { recursive: true });
  writeFileSync(join(root, '.reports/bench/vmx-trap.txt'), `${report}\n`);
});
