import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { bin, useSimHost } from './sim-host.js';

const sim = useSimHost();
const vmw9 = sim.vmw9;

/** `vmw9 --host unix!… ARGS` with bytes in and bytes out. */
function vmw9Bytes(args: string[], stdin: Buffer): Promise<{ code: number | null; out: Buffer }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, '--host', sim.addr, ...args]);
    const out: Buffer[] = [];
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.on('close', (code) => resolve({ code, out: Buffer.concat(out) }));
    c.stdin.end(stdin);
  });
}

describe('vmw9 rpc / info / log', () => {
  it('info set, then get; a missing key exits 1', async () => {
    expect(await vmw9(['info', 'set', 'guestinfo.role', 'web server'])).toMatchObject({ code: 0, out: '' });
    expect(sim.host.rpci.getGuestinfo('guestinfo.role')).toBe('web server');
    expect(await vmw9(['info', 'get', 'guestinfo.role'])).toMatchObject({ code: 0, out: 'web server\n' });
    expect(await vmw9(['info', 'get', 'guestinfo.none'])).toMatchObject({
      code: 1,
      err: 'vmw9: no value for guestinfo.none\n',
    });
  });

  it('info set KEY - reads the value from standard input', async () => {
    expect(
      (await vmw9(['info', 'set', 'guestinfo.userdata', '-'], '#cloud-config\nhostname: a b\n')).code,
    ).toBe(0);
    expect(sim.host.rpci.getGuestinfo('guestinfo.userdata')).toBe('#cloud-config\nhostname: a b');
  });

  it('info set KEY - and info get carry bytes 1..255 unchanged', async () => {
    const value = Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1));
    expect((await vmw9Bytes(['info', 'set', 'guestinfo.bin', '-'], value)).code).toBe(0);
    expect(sim.host.rpci.getGuestinfoBytes('guestinfo.bin')?.equals(value)).toBe(true);
    const got = await vmw9Bytes(['info', 'get', 'guestinfo.bin'], Buffer.alloc(0));
    expect(got.code).toBe(0);
    expect(got.out.equals(Buffer.concat([value, Buffer.from('\n')]))).toBe(true);
  });

  it('--trace prints each GuestRPC message on stderr, the output unchanged', async () => {
    sim.host.rpci.setGuestinfo('guestinfo.traced', 'yes');
    const r = await vmw9(['--trace', 'info', 'get', 'guestinfo.traced']);
    expect(r).toMatchObject({ code: 0, out: 'yes\n' });
    expect(r.err).toBe('vmw9 trace: rpci out 25 info-get guestinfo.traced\nvmw9 trace: rpci in 5 1 yes\n');
    expect((await vmw9(['info', 'get', 'guestinfo.traced'])).err).toBe('');
  });

  it('rpc prints the reply (exit 0) or the host error on stderr (exit 1), like vmware-rpctool', async () => {
    sim.host.rpci.setGuestinfo('guestinfo.x', 'y');
    expect(await vmw9(['rpc', 'info-get', 'guestinfo.x'])).toMatchObject({ code: 0, out: 'y\n', err: '' });
    expect(await vmw9(['rpc', 'no.such.command'])).toMatchObject({
      code: 1,
      out: '',
      err: 'Unknown command\n',
    });
    expect(JSON.parse((await vmw9(['--json', 'rpc', 'info-get guestinfo.x'])).out)).toEqual({
      ok: true,
      reply: 'y',
    });
  });

  it('log writes to the host log', async () => {
    expect((await vmw9(['log', 'hello', 'from', 'the', 'cli'])).code).toBe(0);
    expect(sim.host.rpci.logs).toContain('hello from the cli');
  });

  it('a bad key is a usage error and sends nothing', async () => {
    const before = sim.host.log.total();
    const r = await vmw9(['info', 'set', 'other.key', 'v']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/guestinfo key/);
    expect(sim.host.log.total()).toBe(before);
  });
});
