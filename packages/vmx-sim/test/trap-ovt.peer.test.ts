/**
 * Real peers: the unmodified open-vm-tools 12.2 binaries of this machine under vmx-trap, against the
 * tiny fake host (trap/fake-host.mjs). On a KVM machine they refuse to run unless CPUID says
 * VMwareVMware, try vsock before the backdoor, and probe for Xen with a ud2 that must reach their own
 * SIGILL handler: vmx-trap has to get all three right.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeHost } from '../trap/fake-host.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const pkg = resolve(here, '../../vmx-sim-linux-x64');
const trap = join(pkg, 'vmx-trap');
const have = (p: string) => existsSync(p);
const ready =
  process.platform === 'linux' &&
  process.arch === 'x64' &&
  have(trap) &&
  have('/usr/bin/vmware-checkvm') &&
  have('/usr/bin/vmware-rpctool');

type Host = Awaited<ReturnType<typeof startFakeHost>>;
let host: Host | undefined;

function vmxTrap(args: string[], timeoutMs = 30_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((res, rej) => {
    const child = spawn(trap, ['--host', host!.address, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', rej);
    child.on('close', (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    });
  });
}

const GETVERSION = (c: { op: number; regs: number[] }) => c.op === 1 && (c.regs[2]! & 0xffff) === 10;

describe('open-vm-tools under vmx-trap', { timeout: 60_000 }, () => {
  it('has its prerequisites (install-deps.sh: open-vm-tools; the built vmx-trap)', () => {
    expect(ready).toBe(true);
  });

  afterEach(async () => {
    await host?.close();
    host = undefined;
  });

  it('vmware-checkvm: "VMware software version 6 (good)", and -p names ESX', async () => {
    host = await startFakeHost();
    const r = await vmxTrap(['--cpuid', 'vmware', '--', 'vmware-checkvm']);
    expect(r.stdout).toBe('VMware software version 6 (good)\n');
    expect(r.code).toBe(0);
    expect(host.calls.length).toBeGreaterThan(0);
    expect(host.calls.every(GETVERSION)).toBe(true);
    const p = await vmxTrap(['--', 'vmware-checkvm', '-p']);
    expect(p.stdout).toBe('ESX Server\n');
  });

  it("vmware-rpctool 'info-get guestinfo.foo' gets the host's reply over GuestMsg (HB both ways)", async () => {
    host = await startFakeHost({ rpci: { 'info-get guestinfo.foo': '1 bar' } });
    const r = await vmxTrap(['--cpuid', 'vmware', '--', 'vmware-rpctool', 'info-get guestinfo.foo']);
    expect(r.stdout).toBe('bar\n');
    expect(r.code).toBe(0);
    expect(host.rpci).toEqual(['info-get guestinfo.foo']);
    // OPEN, SENDSIZE, HB out, RECVSIZE, HB in, RECVSTATUS, CLOSE after the VmCheck GETVERSIONs.
    expect(host.calls.filter((c) => c.op === 2).map((c) => c.data?.toString())).toEqual([
      'info-get guestinfo.foo',
    ]);
    expect(host.calls.filter((c) => c.op === 3)).toHaveLength(1);
    const unknown = await vmxTrap(['--', 'vmware-rpctool', 'no-such-command']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown command');
  });

  it("--cpuid none: open-vm-tools' Xen probe (ud2) reaches its own SIGILL handler, then the backdoor works", async () => {
    host = await startFakeHost();
    const r = await vmxTrap(['--cpuid', 'none', '--log', '-', '--', 'vmware-checkvm']);
    expect(r.stdout).toBe('VMware software version 6 (good)\n');
    expect(r.stderr).toMatch(/ pass SIGILL si_code=2 rip=0x[0-9a-f]+ code=0f 0b /);
  });

  it('--cpuid pass: on a KVM machine open-vm-tools sees KVM and never touches the backdoor', async () => {
    host = await startFakeHost();
    const sig = await vmxTrap(['--cpuid', 'pass', '--', join(pkg, 'build/testprogs/cpuid')]);
    const kvm = /^main hv=1 sig=KVMKVMKVM/.test(sig.stdout);
    const r = await vmxTrap(['--cpuid', 'pass', '--', 'vmware-checkvm']);
    if (kvm) {
      expect(r.code).not.toBe(0);
      expect(host.calls).toHaveLength(0);
    }
  });
});
