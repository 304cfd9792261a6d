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

  it('usage errors exit 2 with one line saying what is wrong', () => {
    expect(run('frobnicate')).toMatchObject({
      code: 2,
      out: '',
      err: "vmw9: unknown command 'frobnicate'\n",
    });
    expect(run('info', 'get')).toMatchObject({ code: 2, err: "vmw9: missing required argument 'key'\n" });
    expect(run('stat', 'bogus')).toMatchObject({
      code: 2,
      err: 'vmw9: unknown statistic "bogus" (hosttime, speed, sessionid, balloon, swap, memlimit, memres, cpures, cpulimit, raw, all, memory, uuid)\n',
    });
    const r = run('9p', 'frob', '/tmp/x.sock', '/');
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });

  it('every command has examples in its help', () => {
    const top = run('--help').out;
    const names = [...top.matchAll(/^ {2}([a-z0-9]+)\b/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
    expect(names.length).toBeGreaterThan(12);
    for (const n of [...names, 'info get', 'info set']) {
      const h = run('help', ...n.split(' '));
      expect(h.code, n).toBe(0);
      expect(h.out, n).toMatch(/\nExamples:\n {2}(sudo )?vmw9 /);
    }
    expect(run('help', '9p').out).toMatch(/-A, --aname NAME/);
  });

  it("--host sim's missing value says each command gets a fresh host", () => {
    expect(run('--host', 'sim', 'info', 'get', 'guestinfo.x')).toMatchObject({
      code: 1,
      err: expect.stringMatching(
        /^vmw9: no value for guestinfo\.x \(--host sim is a fresh simulated host for each command/,
      ),
    });
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
