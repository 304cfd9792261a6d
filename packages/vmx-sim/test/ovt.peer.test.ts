/**
 * Conformance: unmodified open-vm-tools 12 (Debian's) under vmx-trap against vmx-sim, the real
 * simulator, served from this test process. What the guests print and what the host recorded are
 * both asserted: the simulator must satisfy VMware's own tools, byte for byte.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimServer, serveHost, VmxHost, type VmxHostOptions } from '../src/index.js';

const trap = fileURLToPath(new URL('../../vmx-sim-linux-x64/vmx-trap', import.meta.url));
let server: SimServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(opts?: VmxHostOptions) {
  const host = new VmxHost(opts);
  const path = join(mkdtempSync(join(tmpdir(), 'vmx-ovt-')), 'host.sock');
  server = await serveHost(host, path);
  return { host, path };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs PROG under vmx-trap against the socket; `stopAfterMs` sends SIGTERM to the launcher then. */
function underTrap(
  path: string,
  argv: string[],
  opts: { stopAfterMs?: number; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(trap, ['--host', `unix!${path}`, '--cpuid', 'vmware', '-q', '--', ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const stop = opts.stopAfterMs ? setTimeout(() => child.kill('SIGTERM'), opts.stopAfterMs) : undefined;
    const kill = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(stop);
      clearTimeout(kill);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('vmware-checkvm', () => {
  it.each([
    [2, 'ESX Server'],
    [4, 'Workstation'],
  ])('product type %i: good, and -p prints %s', async (productType, name) => {
    const { host, path } = await start({ facts: { productType } });
    const r = await underTrap(path, ['vmware-checkvm']);
    expect(r).toMatchObject({ code: 0, stdout: 'VMware software version 6 (good)\n' });
    expect((await underTrap(path, ['vmware-checkvm', '-p'])).stdout).toBe(`${name}\n`);
    expect(host.log.counts()).toEqual({ GETVERSION: expect.any(Number) });
  });
});

describe('vmware-rpctool', () => {
  const sizes = [0, 1, 60 * 1024];
  for (const hb of [true, false]) {
    it.each(sizes)(
      `info-set then info-get, a %i-byte value, ${hb ? 'high bandwidth' : 'the 4-byte path'}`,
      async (n) => {
        const { host, path } = await start({ hb });
        const value = 'v'.repeat(n);
        const set = await underTrap(path, ['vmware-rpctool', `info-set guestinfo.k ${value}`]);
        expect(set).toMatchObject({ code: 0, stdout: '\n' });
        expect(host.rpci.getGuestinfo('guestinfo.k')).toBe(value);
        const mark = host.log.mark();
        const get = await underTrap(path, ['vmware-rpctool', 'info-get guestinfo.k']);
        expect(get).toMatchObject({ code: 0, stdout: `${value}\n` });
        const c = host.log.counts(mark);
        if (hb) {
          expect(c['HB.OUT']).toBe(1);
          expect(c['HB.IN']).toBe(1);
          expect(c['MESSAGE.SENDPAYLOAD'] ?? 0).toBe(0);
        } else {
          expect(c['HB.OUT'] ?? 0).toBe(0);
          expect(c['MESSAGE.SENDPAYLOAD']).toBe(Math.ceil('info-get guestinfo.k'.length / 4));
          expect(c['MESSAGE.RECVPAYLOAD']).toBe(Math.ceil((n + 2) / 4));
        }
      },
    );
  }

  it('a message over the 64 KiB guest→host limit is refused and changes nothing', async () => {
    // GUESTMSG_MAX_IN_SIZE holds on a host without large HGFS packets (docs/protocol/hgfs.md, "Server role").
    const { host, path } = await start({ hgfs: { largePackets: false } });
    host.rpci.setGuestinfo('guestinfo.k', 'before');
    const r = await underTrap(path, ['vmware-rpctool', `info-set guestinfo.k ${'x'.repeat(65 * 1024)}`]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.length).toBeGreaterThan(0);
    expect(host.rpci.getGuestinfo('guestinfo.k')).toBe('before');
    expect(host.log.entries().some((e) => e.name === 'MESSAGE.SENDSIZE' && e.fault === 'too-big')).toBe(true);
  });

  it("an unknown command: rpctool prints the host's error and exits 1", async () => {
    const { path } = await start();
    const r = await underTrap(path, ['vmware-rpctool', 'no.such.command']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Unknown command');
    expect(r.stdout).toBe('');
  });

  it.each(['HBOUT', 'HBIN', 'RECVSTATUS'] as const)(
    'a checkpoint at %s: rpctool still gets the right answer; executed once',
    async (step) => {
      const { host, path } = await start();
      let executed = 0;
      host.rpci.register('count.me', () => `1 counted ${++executed}`);
      host.arm({ kind: 'cpt', step, protocol: 'RPCI' });
      const r = await underTrap(path, ['vmware-rpctool', 'count.me']);
      expect(r).toMatchObject({ code: 0, stdout: 'counted 1\n' });
      expect(executed).toBe(1);
      expect(host.faults.fired.cpt).toBe(1);
    },
  );

  it('the call sequence of one info-get matches docs/testing.md §4 (HB path)', async () => {
    const { host, path } = await start();
    host.rpci.setGuestinfo('guestinfo.foo', 'bar');
    const mark = host.log.mark();
    await underTrap(path, ['vmware-rpctool', 'info-get guestinfo.foo']);
    const seq = host.log.entries(mark).map((e) => e.name);
    // docs/testing.md §4: TouchBackDoor and VmCheck GETVERSIONs, then OPEN, SENDSIZE, HB OUT,
    // RECVSIZE, HB IN, RECVSTATUS, CLOSE. The number of leading GETVERSIONs depends on the CPUID path.
    const firstMessage = seq.indexOf('MESSAGE.OPEN');
    expect(seq.slice(0, firstMessage).every((n) => n === 'GETVERSION')).toBe(true);
    expect(seq.slice(firstMessage)).toEqual([
      'MESSAGE.OPEN',
      'MESSAGE.SENDSIZE',
      'HB.OUT',
      'MESSAGE.RECVSIZE',
      'HB.IN',
      'MESSAGE.RECVSTATUS',
      'MESSAGE.CLOSE',
    ]);
    const open = host.log.entries(mark).find((e) => e.name === 'MESSAGE.OPEN')!;
    expect(open.in.ebx).toBe(0xc9435052); // 'RPCI' | GUESTMSG_FLAG_COOKIE
  });
});

describe('vmtoolsd', () => {
  it('runs 10 s: opens TCLO and RPCI, reports its version, answers reset, ping and Capabilities_Register', async () => {
    const { host, path } = await start();
    const r = await underTrap(path, ['vmtoolsd'], { stopAfterMs: 10_000, timeoutMs: 30_000 });
    expect(r.signal === null || r.signal === 'SIGTERM').toBe(true);
    const opens = host.log
      .entries()
      .filter((e) => e.name === 'MESSAGE.OPEN')
      .map((e) => (e.in.ebx & 0x7fffffff) >>> 0);
    expect(opens).toContain(0x4f4c4354); // TCLO
    expect(opens).toContain(0x49435052); // RPCI
    const replies = Object.fromEntries(host.tclo.replies.map((x) => [x.command, x.reply]));
    expect(replies['reset']).toBe('OK ATR toolbox');
    expect(replies['ping']).toBe('OK ');
    expect(replies['Capabilities_Register']).toBe('OK ');
    // Version information as docs/testing.md §4 saw it: info-set guestinfo.vmtools.* and/or tools.set.versiontype.
    const vmtools = [...host.rpci.guestinfo.keys()].filter((k) => k.startsWith('guestinfo.vmtools.'));
    expect(vmtools).toEqual(
      expect.arrayContaining(['guestinfo.vmtools.versionString', 'guestinfo.vmtools.versionNumber']),
    );
    expect(host.rpci.toolsVersion?.version).toBeGreaterThan(0);
    expect(host.rpci.capabilities.size).toBeGreaterThan(0);
    expect([...host.rpci.unifiedLoop]).toContain('toolbox');
    // It polls TCLO all along (about every 100 ms when idle).
    expect(host.tclo.polls).toBeGreaterThan(20);
  });
});
