/**
 * Our agent and open-vm-tools' vmtoolsd side by side against one vmx-sim host, idle for the same
 * time (default 60 s; VMW9_BENCH_IDLE_S to change): CPU seconds and peak RSS of each, and the
 * ratios. vmtoolsd runs unmodified under vmx-trap; only its own process is counted (the launcher's
 * ptrace work is ours, not vmtoolsd's). Goal (issue: agent): at most vmtoolsd's CPU, at most 60 MB RSS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveHost, VmxHost } from '@vmw9/vmx-sim';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const IDLE_S = Number(process.env['VMW9_BENCH_IDLE_S'] ?? 60);
const TICK = 100; // USER_HZ on Linux

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime + stime
}
function peakRssMB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}
function childOf(ppid: number, name: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === ppid && comm === name) return Number(d);
    } catch {}
  }
  return undefined;
}
const stop = (c: ChildProcess) =>
  new Promise((r) => {
    c.once('close', r);
    c.kill('SIGTERM');
  });

it(
  `idle for ${IDLE_S} s: CPU and peak RSS, our agent against vmtoolsd`,
  async () => {
    const host = new VmxHost();
    const dir = mkdtempSync(join(tmpdir(), 'agent-bench-'));
    const path = join(dir, 'host.sock');
    const server = await serveHost(host, path);
    const agent = spawn(
      process.execPath,
      [
        join(root, 'apps/cli/dist/bin.js'),
        '--host',
        `unix!${path}`,
        'agent',
        '--listen',
        `unix!${join(dir, 'vmware.sock')}`,
        '--level',
        'warn',
      ],
      { stdio: 'ignore' },
    );
    const trap = spawn(
      join(root, 'packages/vmx-sim-linux-x64/vmx-trap'),
      ['--host', `unix!${path}`, '--cpuid', 'vmware', '-q', '--', 'vmtoolsd'],
      { stdio: 'ignore' },
    );
    let vmtoolsd: number | undefined;
    for (let i = 0; i < 100 && !vmtoolsd; i++) {
      await new Promise((r) => setTimeout(r, 100));
      vmtoolsd = childOf(trap.pid!, 'vmtoolsd');
    }
    expect(vmtoolsd, 'vmtoolsd under vmx-trap').toBeDefined();
    // Let both finish starting, then measure the idle window only.
    await new Promise((r) => setTimeout(r, 5000));
    const a0 = cpuSeconds(agent.pid!);
    const v0 = cpuSeconds(vmtoolsd!);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const a = { cpu: cpuSeconds(agent.pid!) - a0, rss: peakRssMB(agent.pid!) };
    const v = { cpu: cpuSeconds(vmtoolsd!) - v0, rss: peakRssMB(vmtoolsd!) };
    const ourPolls = host.tclo.replies.filter((r) => r.app === 'toolbox').length;
    await stop(agent);
    await stop(trap);
    await server.close();
    const lines = [
      `idle ${IDLE_S} s against one vmx-sim host (after 5 s of start-up):`,
      `  vmw9 agent: CPU ${a.cpu.toFixed(2)} s, peak RSS ${a.rss.toFixed(1)} MB`,
      `  vmtoolsd  : CPU ${v.cpu.toFixed(2)} s, peak RSS ${v.rss.toFixed(1)} MB (open-vm-tools 12, under vmx-trap)`,
      `  ratios agent/vmtoolsd: CPU ${(a.cpu / Math.max(v.cpu, 0.01)).toFixed(2)}, RSS ${(a.rss / v.rss).toFixed(2)}; goal: CPU ≤ vmtoolsd's, RSS ≤ 60 MB (${a.rss <= 60 ? 'met' : 'not met'})`,
      `  (TCLO replies recorded: ${ourPolls}; total backdoor calls: ${host.log.total()})`,
    ];
    const report = lines.join('\n');
    console.log(report);
    mkdirSync(join(root, '.reports/bench'), { recursive: true });
    writeFileSync(join(root, '.reports/bench/agent-idle.txt'), `${report}\n`);
    expect(a.rss).toBeGreaterThan(0);
  },
  (IDLE_S + 60) * 1000,
);
