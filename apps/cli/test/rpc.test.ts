/** vmw9 rpc / info / log against a simulated host served from this test process. */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type SimServer, serveHost, VmxHost } from '@vmw9/vmx-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let host: VmxHost;
let server: SimServer;
let addr: string;

beforeAll(async () => {
  host = new VmxHost();
  const path = join(mkdtempSync(join(tmpdir(), 'vmw9-rpc-')), 'h.sock');
  server = await serveHost(host, path);
  addr = `unix!${path}`;
});
afterAll(() => server.close());

/** Runs the CLI asynchronously (this process serves the host, so it must not block). */
function vmw9(args: string[], stdin?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, '--host', addr, ...args]);
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, out, err }));
    c.stdin.end(stdin ?? '');
  });
}

describe('vmw9 rpc / info / log', () => {
  it('info set, then get; a missing key exits 1', async () => {
    expect(await vmw9(['info', 'set', 'guestinfo.role', 'web server'])).toMatchObject({ code: 0, out: '' });
    expect(host.rpci.getGuestinfo('guestinfo.role')).toBe('web server');
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
    expect(host.rpci.getGuestinfo('guestinfo.userdata')).toBe('#cloud-config\nhostname: a b');
  });

  it('rpc prints the reply (exit 0) or the host error on stderr (exit 1), like vmware-rpctool', async () => {
    host.rpci.setGuestinfo('guestinfo.x', 'y');
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
    expect(host.rpci.logs).toContain('hello from the cli');
  });

  it('a bad key is a usage error and sends nothing', async () => {
    const before = host.log.total();
    const r = await vmw9(['info', 'set', 'other.key', 'v']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/guestinfo key/);
    expect(host.log.total()).toBe(before);
  });
});
