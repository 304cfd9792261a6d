/**
 * vmx-trap, the ptrace launcher (trap/), against a tiny fake host (trap/fake-host.mjs) with the small
 * C tracees of trap/testprogs. Nothing is built here: `pnpm --filter @vmw9/vmx-sim-linux-x64 build`
 * makes the launcher and the test programs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeHost } from '../trap/fake-host.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '../../vmx-sim-linux-x64');
const trap = join(pkg, 'vmx-trap');
const progs = join(pkg, 'build/testprogs');
const bd = join(progs, 'bd');
const shim = resolve(here, '../bin/vmx-trap.js');
const supported = process.platform === 'linux' && process.arch === 'x64';

type Host = Awaited<ReturnType<typeof startFakeHost>>;
interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** Runs a command, never longer than `timeoutMs` (then SIGKILL, and the test fails on the code). */
function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onStart?: (pid: number) => void } = {},
): Promise<Result> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', rej);
    if (child.pid) opts.onStart?.(child.pid);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stdout, stderr, pid: child.pid ?? 0 });
    });
  });
}

let host: Host;
const vmxTrap = (args: string[], opts?: Parameters<typeof run>[2]) =>
  run(trap, ['--host', host.address, ...args], opts);

function gone(pid: number): boolean {
  try {
    // A zombie has not been reaped yet but runs nothing: count it as gone.
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

describe.runIf(supported)('vmx-trap', { timeout: 30_000 }, () => {
  beforeAll(() => {
    if (!existsSync(trap) || !existsSync(bd))
      throw new Error(
        `${trap} or the test programs are missing: pnpm --filter @vmw9/vmx-sim-linux-x64 build`,
      );
  });
  afterEach(async () => {
    await host?.close();
    host = undefined as unknown as Host;
  });
  const fresh = async () => {
    host = await startFakeHost();
  };

  it('emulates an LB call (in eax,dx on 0x5658) and the in ax/al forms', async () => {
    await fresh();
    const r = await vmxTrap(['--', bd, 'lb']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // GETVERSION answered; rsi's upper half (not part of the call) survived.
    expect(r.stdout).toContain('lb: eax=00000006 ebx=564d5868 ecx=00000002 edx=00005658 esi=00000007');
    expect(r.stdout).toContain('rsi=1234567800000007');
    expect(r.stdout).toContain('in ax: ax=0006 ebx=564d5868');
    expect(r.stdout).toContain('in al: rax=ffffffff564d5806');
    expect(host.hellos).toEqual([r.pid]);
    expect(host.calls).toHaveLength(3);
    const c = host.calls[0]!;
    expect(c).toMatchObject({ op: 1, flags: 0, count: 0 });
    expect(c.regs.slice(0, 4)).toEqual([0x564d5868, ~0x564d5868 >>> 0, 10, 0x5658]);
    expect(c.pid).not.toBe(r.pid); // the caller (the traced program), not the launcher
  });

  it('moves HB data both ways (rep outsb / rep insb on 0x5659), as a completed rep leaves the registers', async () => {
    await fresh();
    const text = 'hello, vmx-trap: high bandwidth';
    const r = await vmxTrap(['--', bd, 'hb', text]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`out: ebx=00010000 rcx=0 rsi-advance=${text.length}`);
    expect(r.stdout).toContain(`in: ebx=00010000 rcx=0 rdi-advance=${text.length} back="${text}"`);
    const [out, inn] = host.calls;
    expect(out).toMatchObject({ op: 2, count: text.length });
    expect(out!.data?.toString()).toBe(text);
    expect(out!.regs[3]! & 0xffff).toBe(0x5659);
    expect(inn).toMatchObject({ op: 3, count: text.length });
  });

  it('emulates whichever of vmcall/vmmcall faults on this CPU, in the port form with flag 1', async () => {
    await fresh();
    const r = await vmxTrap(['--', bd, 'hcall']);
    expect(r.code).toBe(0);
    const emulated = ['vmcall', 'vmmcall'].filter((n) =>
      r.stdout.includes(`${n}: eax=00000006 ebx=564d5868 ecx=00000002`),
    );
    // AMD: vmcall faults, vmmcall goes to the hypervisor (rax=-1); Intel: the reverse; TCG: both.
    expect(emulated.length).toBeGreaterThan(0);
    expect(host.calls).toHaveLength(emulated.length);
    for (const c of host.calls) {
      expect(c).toMatchObject({ op: 1, flags: 1 });
      expect(c.regs[3]! & 0xffff).toBe(0x5658);
    }
    const hb = await vmxTrap(['--', bd, 'hcall-hb', 'through a hypercall']);
    for (const n of emulated) expect(hb.stdout).toContain(`${n}: ebx=00010000 back="through a hypercall"`);
    expect(host.calls.filter((c) => c.op === 2 && c.flags === 1).map((c) => c.data?.toString())).toContain(
      'through a hypercall',
    );
  });

  it('follows threads and fork children (each call carries its thread id)', async () => {
    await fresh();
    const r = await vmxTrap(['--', bd, 'threads']);
    expect(r.code).toBe(0);
    for (const who of ['thread1', 'thread2', 'child', 'thread3', 'main'])
      expect(r.stdout).toContain(`${who}: eax=00000006 ebx=564d5868 ecx=00000002`);
    expect(r.stdout).toContain('child status 0');
    expect(host.calls).toHaveLength(5);
    expect(new Set(host.calls.map((c) => c.pid)).size).toBe(5);
  });

  describe('CPUID', () => {
    const cpuid = join(progs, 'cpuid');
    const lines = (s: string) => s.trim().split('\n');

    it('--cpuid vmware: VMwareVMware everywhere (executable, libraries, dlopen, fork, exec), no hypercalls', async () => {
      await fresh();
      const r = await vmxTrap(['--cpuid', 'vmware', '--', cpuid, 'fork']);
      expect(r.code).toBe(0);
      expect(lines(r.stdout)).toHaveLength(9);
      for (const l of lines(r.stdout))
        expect(l).toMatch(/^(fork-|exec-)?(main|lib|dlopen) hv=1 sig=VMwareVMware/);
      expect(r.stdout).toContain('main hv=1 sig=VMwareVMware max=0x40000010 l10ecx=0\n');
      const s = await vmxTrap(['--', cpuid, 'spawn']); // posix_spawn: vfork + exec
      expect(lines(s.stdout)).toHaveLength(6);
      for (const l of lines(s.stdout)) expect(l).toContain('hv=1 sig=VMwareVMware');
      const st = await vmxTrap(['--', join(progs, 'cpuid-static')]);
      expect(st.stdout).toBe('main hv=1 sig=VMwareVMware max=0x40000010 l10ecx=0\n');
    });

    it('--cpuid none: no hypervisor (and a cold site cache works the same)', async () => {
      await fresh();
      const cache = mkdtempSync(join(tmpdir(), 'vmx-trap-cache-'));
      try {
        for (const env of [{ VMX_TRAP_CACHE: 'off' }, { VMX_TRAP_CACHE: cache }, { VMX_TRAP_CACHE: cache }]) {
          const r = await vmxTrap(['--cpuid', 'none', '--', cpuid, 'fork'], { env });
          expect(r.code).toBe(0);
          expect(lines(r.stdout)).toHaveLength(9);
          for (const l of lines(r.stdout)) expect(l).toMatch(/hv=0 sig=($| max=0 )/);
        }
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    });

    it('--cpuid pass: the real CPUID, exactly as without the launcher', async () => {
      await fresh();
      const direct = await run(cpuid, []);
      const r = await vmxTrap(['--cpuid', 'pass', '--', cpuid]);
      expect(r.stdout).toBe(direct.stdout);
      if (readFileSync('/proc/cpuinfo', 'utf8').includes('hypervisor'))
        expect(r.stdout).toMatch(/^main hv=1 sig=\S+/); // KVMKVMKVM on the project's machines
    });

    it('--probe names the method; forced faulting injects arch_prctl and answers a CPUID #GP', async () => {
      await fresh();
      const p = await run(trap, ['--probe']);
      expect(p.stdout).toMatch(/^cpuid-intercept: (fault|patch)\n$/);
      // bd queues itself SIGSEGV (SI_KERNEL) right before a cpuid: what CPUID faulting looks like.
      const vendor = /vendor_id\s*:\s*(\S+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
      const r = await vmxTrap(['--intercept', 'fault', '--log', '-', '--', bd, 'fake-cpuid-fault']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`survived: vendor=${vendor}\n`);
      expect(r.stderr).toMatch(/ cpuid rip=0x[0-9a-f]+ leaf=0 /);
      // The injected arch_prctl really ran in the program: the kernel's answer is in the log.
      expect(r.stderr).toMatch(
        p.stdout.includes('fault') ? /ARCH_SET_CPUID, 0\) = 0\n/ : /ARCH_SET_CPUID, 0\) = -19\n/,
      );
      if (p.stdout.includes('patch')) expect(r.stderr).toContain('cannot arm CPUID faulting');
    });
  });

  it('denies AF_VSOCK to the program and its children, and nothing else', async () => {
    await fresh();
    const r = await vmxTrap(['--', bd, 'vsock']);
    expect(r.stdout).toBe('vsock: EAFNOSUPPORT\nchild vsock: EAFNOSUPPORT\nunix: opened\n');
  });

  it("passes every other fault to the program's own handlers unchanged", async () => {
    await fresh();
    const r = await vmxTrap(['--', bd, 'signals']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'in 0x1234: caught SEGV si_code=128',
        'ud2: caught ILL si_code=2',
        'int3: caught TRAP si_code=128',
        'kill SIGSEGV: caught SEGV si_code=0',
        'std rep outsb: caught SEGV si_code=128',
        '',
      ].join('\n'),
    );
    expect(host.calls).toHaveLength(0);
  });

  it('turns a host refusal (status 1) or error (status 2) into SIGSEGV', async () => {
    await fresh();
    const f = await vmxTrap(['--', bd, 'fault', '99']);
    expect(f.stdout).toBe('fault: caught SEGV si_code=128\n');
    const e = await vmxTrap(['--', bd, 'fault', '98']);
    expect(e.stdout).toBe('fault: caught SEGV si_code=128\n');
    expect(e.stderr).toContain('vmx-trap: host error: fake: command 98 is an error');
    const q = await vmxTrap(['-q', '--', bd, 'fault', '98']);
    expect(q.stderr).toBe('');
    const k = await vmxTrap(['--', bd, 'lb', '99']); // no handler: the program dies of it
    expect(k.code).toBe(128 + 11);
  });

  it("exits with the program's status, or 128+N when it was killed", async () => {
    await fresh();
    expect((await vmxTrap(['--', bd, 'exit', '7'])).code).toBe(7);
    expect((await vmxTrap(['--', bd, 'kill', '15'])).code).toBe(143);
    expect((await vmxTrap(['--', bd, 'kill', '9'])).code).toBe(137);
    const n = await vmxTrap(['--', '/nonexistent/prog']);
    expect(n.code).toBe(127);
    expect(n.stderr).toContain('cannot run /nonexistent/prog: No such file or directory');
  });

  it('fails clearly without a host', async () => {
    const none = await run(trap, ['--', bd, 'lb'], { env: { VMW9_HOST: '' } });
    expect(none.code).toBe(125);
    expect(none.stderr).toContain('no host: pass --host unix!PATH or set VMW9_HOST');
    const dead = await run(trap, ['--host', 'unix!/nonexistent/host.sock', '--', bd, 'lb']);
    expect(dead.code).toBe(125);
    expect(dead.stderr).toContain('cannot connect to the host at unix!/nonexistent/host.sock');
    const tcp = await run(trap, ['--host', 'tcp!localhost!1', '--', bd, 'lb']);
    expect(tcp.stderr).toContain("unsupported host address 'tcp!localhost!1'");
    await fresh();
    const env = await run(trap, ['--', bd, 'lb'], { env: { VMW9_HOST: host.address } });
    expect(env.code).toBe(0);
  });

  it('a host that never answers blocks the program; SIGTERM ends launcher and program, leaving nothing', async () => {
    await fresh();
    let launcher = 0;
    const p = vmxTrap(['--', bd, 'lb', '97'], { onStart: (pid) => (launcher = pid) });
    await expect.poll(() => host.calls.length, { timeout: 30_000 }).toBe(1);
    const tracee = host.calls[0]!.pid;
    expect(gone(tracee)).toBe(false);
    process.kill(launcher, 'SIGTERM');
    const r = await p;
    expect(r.code).toBe(143);
    expect(r.stderr).toContain('stopped by signal 15 while waiting for the host');
    await expect.poll(() => gone(tracee), { timeout: 30_000 }).toBe(true);
  });

  it('--log writes one line per trap, --stats the counts and the mean time per call', async () => {
    await fresh();
    const dir = mkdtempSync(join(tmpdir(), 'vmx-trap-log-'));
    try {
      const log = join(dir, 'trap.log');
      const r = await vmxTrap(['--log', log, '--stats', '--', bd, 'hb', 'logged']);
      expect(r.code).toBe(0);
      const lines = readFileSync(log, 'utf8').split('\n');
      expect(lines.filter((l) => / hb-out rep outsb .* bytes=6$/.test(l))).toHaveLength(1);
      expect(lines.filter((l) => / hb-in rep insb .* bytes=6$/.test(l))).toHaveLength(1);
      expect(r.stderr).toMatch(/traps: lb=0 hb-out=1 hb-in=1 hcall=0 cpuid=\d+ host-faults=0 passed=0;/);
      expect(r.stderr).toMatch(/2 backdoor calls, mean \d+\.\d us per call/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('carries 20000 trapped calls, none bad (the cost per call is printed, not judged)', {
    timeout: 120_000,
  }, async () => {
    await fresh();
    const r = await vmxTrap(['--stats', '--', bd, 'bench', '20000'], { timeoutMs: 110_000 });
    expect(r.code).toBe(0);
    const m = /bench: 20000 calls, 0 bad, ([\d.]+) us per call/.exec(r.stdout);
    expect(m).not.toBeNull();
    console.log(
      `vmx-trap: ${m![1]} us per trapped backdoor call (end to end); ${r.stderr.trim().split('\n')[1]}`,
    );
    expect(host.calls).toHaveLength(20000);
  });

  describe('bin/vmx-trap.js', () => {
    const env = () => ({ VMW9_VMX_TRAP: trap, VMW9_HOST: host.address });

    it("runs the launcher with the same arguments and exits with the program's status", async () => {
      await fresh();
      const r = await run(process.execPath, [shim, '--', bd, 'exit', '3'], { env: env() });
      expect(r.code).toBe(3);
      const ok = await run(process.execPath, [shim, '--', bd, 'lb'], { env: env() });
      expect(ok.stdout).toContain('lb: eax=00000006');
    });

    it('passes SIGTERM on', async () => {
      await fresh();
      let pid = 0;
      const p = run(process.execPath, [shim, '--', bd, 'lb', '97'], {
        env: env(),
        onStart: (x) => (pid = x),
      });
      await expect.poll(() => host.calls.length, { timeout: 30_000 }).toBe(1);
      process.kill(pid, 'SIGTERM');
      expect((await p).code).toBe(143);
    });

    it('says so when the binary cannot be started', async () => {
      const r = await run(process.execPath, [shim, '--', 'true'], {
        env: { VMW9_VMX_TRAP: '/nonexistent/vmx-trap' },
      });
      expect(r.code).toBe(125);
      expect(r.stderr).toContain('vmx-trap: cannot start /nonexistent/vmx-trap');
    });
  });
});
