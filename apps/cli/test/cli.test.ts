/** The built CLI as a user runs it: a child process, its output and its exit code. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cpuInfo, loadBinding } from '@vmw9/backdoor-native';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, VMW9_BACKDOOR: '' },
  });
  return { code: r.status, signal: r.signal, out: r.stdout, err: r.stderr };
};
const cpu = cpuInfo(loadBinding());

describe('vmw9 detect', () => {
  it.runIf(cpu.signature === 'KVMKVMKVM')('on KVM: JSON names KVM, exit non-zero, no crash', () => {
    const r = run('detect', '--json');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    const d = JSON.parse(r.out);
    expect(d).toMatchObject({
      available: false,
      transport: 'native',
      reason: 'hypervisor:KVM',
      cpu: { hypervisor: 'KVM' },
    });
  });

  it.runIf(cpu.hypervisor !== 'VMware')('--force probes in a child, reports the fault, exits 1', () => {
    const r = run('detect', '--force');
    expect(r.signal).toBeNull();
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/unavailable \((fault:SIG\w+|no-magic)\)/);
  });
});

describe('vmw9 host', () => {
  it.runIf(cpu.hypervisor !== 'VMware')('without a backdoor: an error that says why, exit 1', () => {
    const r = run('host');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^vmw9: no VMware backdoor: /);
  });

  it('--json errors are JSON too', () => {
    const r = run('--json', 'host', '--force');
    if (cpu.hypervisor === 'VMware') return;
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error).toMatch(/no VMware backdoor/);
  });
});

describe('usage', () => {
  it('a bad --host is a usage error (exit 2) naming the dial-string forms', () => {
    const r = run('--host', 'tcp!x!1', 'host');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/native, sim or unix!PATH/);
  });

  it('an unknown command is a usage error', () => {
    expect(run('frobnicate').code).toBe(2);
  });

  it('help lists the commands and exits 0', () => {
    const r = run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/detect/);
    expect(r.out).toMatch(/host/);
  });
});

describe('output to a closed pipe', () => {
  it('stops quietly when the reader goes away (| true: the pipe is closed before node writes)', () => {
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" --help | true`], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
  });
});
