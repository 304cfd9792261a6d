/** The host over its Unix socket (docs/protocol/sim-wire.md): the same protocol from another connection, and bad clients. */
import { mkdtempSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackdoorFault, getBiosUuid, getMemorySize, getVersion } from '@vmw9/backdoor';
import { createRamfs, NinepServer } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import { SimBackdoorPort, type SimServer, SocketBackdoorPort, serveHost, VmxHost } from '../src/index.js';
import { hello } from '../src/wire.js';
import { rpc } from './guest-msg.js';

let server: SimServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(host = new VmxHost()) {
  const path = join(mkdtempSync(join(tmpdir(), 'vmx-sim-')), 'host.sock');
  const errors: string[] = [];
  server = await serveHost(host, path, { onError: (m) => errors.push(m) });
  return { host, path, errors };
}

/** Sends raw bytes and resolves when the server closes the connection (or after 30 s). */
function rawClient(path: string, bytes: Buffer): Promise<{ closed: boolean; got: Buffer }> {
  return new Promise((resolve) => {
    const s = createConnection(path, () => s.write(bytes));
    let got = Buffer.alloc(0);
    s.on('data', (d) => {
      got = Buffer.concat([got, d]);
    });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ closed: false, got });
    }, 30_000);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ closed: true, got });
    });
    s.on('error', () => {});
  });
}

describe('the socket transport', () => {
  it('serves the same host to a SocketBackdoorPort: simple commands, RPCI over HB and 4 bytes', async () => {
    const { host, path } = await start(new VmxHost({ facts: { productType: 4 } }));
    const port = await SocketBackdoorPort.connect(`unix!${path}`);
    expect((await getVersion(port)).productType).toBe(4);
    expect(await rpc(port, `info-set guestinfo.sock ${'z'.repeat(5000)}`)).toBe('1 ');
    expect(await rpc(port, 'info-get guestinfo.sock', { hb: false })).toBe(`1 ${'z'.repeat(5000)}`);
    expect(host.log.entries().some((e) => e.pid === process.pid)).toBe(true);
    await port.close();
  });

  it('the socket is mode 0600', async () => {
    const { path } = await start();
    const { statSync } = await import('node:fs');
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('a restricted host answers status FAULT, seen as BackdoorFault', async () => {
    const { host, path } = await start();
    host.faults.restricted = true;
    const port = await SocketBackdoorPort.connect(path);
    await expect(getVersion(port)).rejects.toBeInstanceOf(BackdoorFault);
    await port.close();
  });

  it('bad clients are dropped and others keep being served', async () => {
    const { path, errors } = await start();
    const good = await SocketBackdoorPort.connect(path);
    expect((await rawClient(path, Buffer.from('GET / HTTP/1.0\r\n\r\n'))).closed).toBe(true);
    const huge = Buffer.concat([hello(1), Buffer.from([0xff, 0xff, 0xff, 0x7f])]);
    expect((await rawClient(path, huge)).closed).toBe(true);
    const shortFrame = Buffer.concat([hello(1), Buffer.from([8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])]);
    expect((await rawClient(path, shortFrame)).closed).toBe(true);
    const unknownOp = Buffer.alloc(44);
    unknownOp.writeUInt32LE(40, 0);
    unknownOp.writeUInt8(9, 4);
    expect((await rawClient(path, Buffer.concat([hello(1), unknownOp]))).closed).toBe(true);
    expect(errors.join('\n')).toMatch(/bad hello[\s\S]*over the[\s\S]*shorter than[\s\S]*unknown op 9/);
    expect((await getVersion(good)).version).toBe(6);
    await good.close();
  });

  it('an unreachable host is a clear error naming the address', async () => {
    await expect(SocketBackdoorPort.connect('unix!/nonexistent/host.sock', 1000)).rejects.toThrow(
      /cannot reach the simulated host at unix!\/nonexistent\/host.sock/,
    );
  });

  it('a 9P server on the socket is named as one, at once, not after the hello times out', async () => {
    const ninep = new NinepServer({ root: createRamfs('none'), permissions: false });
    const path = join(mkdtempSync(join(tmpdir(), 'vmx-sim-')), 'tree.sock');
    await ninep.listen(`unix!${path}`);
    try {
      // A 60 s hello timeout: only the refusal itself can end this within the test's limit.
      const e = await SocketBackdoorPort.connect(`unix!${path}`, 60_000).catch((x: unknown) => x);
      expect(e).toMatchObject({ reason: 'not-a-sim' });
      expect(String(e)).toMatch(/unix!\S+tree.sock is a 9P file server \(it answered Tversion with 9P2000\)/);
    } finally {
      await ninep.close();
    }
  }, 30_000);

  it('a peer that closes on the hello is refused as not a simulated host', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vmx-sim-')), 'other.sock');
    const other = createServer((s) => s.destroy());
    await new Promise<void>((r) => other.listen(path, r));
    try {
      const e = await SocketBackdoorPort.connect(path, 60_000).catch((x: unknown) => x);
      expect(e).toMatchObject({ reason: 'bad-hello' });
      expect(String(e)).toMatch(/closed the connection during the hello: it is not a vmx-sim host/);
    } finally {
      other.close();
    }
  }, 30_000);

  it('a call the host leaves unanswered fails and resets the link; no later answer is shifted', async () => {
    const { host, path } = await start();
    const port = await SocketBackdoorPort.connect(path, { callTimeoutMs: 1000 });
    const fresh = new VmxHost();
    const uuid = await getBiosUuid(port);
    host.faults.silent = true;
    const lost = getMemorySize(port).catch((e: unknown) => e);
    while (!host.log.entries().some((e) => e.fault === 'silent')) await new Promise((r) => setTimeout(r, 5));
    host.faults.silent = false;
    // Queued behind the unanswered call: each must get its own answer, never its neighbour's.
    const later = await Promise.all([
      getBiosUuid(port),
      getMemorySize(port),
      getVersion(port),
      getBiosUuid(port),
    ]);
    expect(await lost).toMatchObject({
      reason: 'timeout',
      message: expect.stringMatching(/did not answer a call within 1000 ms; the link was reset/),
    });
    expect(port.resets).toBe(1);
    expect(later[0]).toBe(uuid);
    expect(later[1]).toEqual(await getMemorySize(new SimBackdoorPort(fresh)));
    expect(later[2]).toEqual(await getVersion(new SimBackdoorPort(fresh)));
    expect(later[3]).toBe(uuid);
    for (let i = 0; i < 20; i++) expect(await getBiosUuid(port)).toBe(uuid);
    await port.close();
  }, 30_000);

  it('a request that stalls is dropped; a caller idle between requests is not', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vmx-sim-')), 'host.sock');
    const errors: string[] = [];
    server = await serveHost(new VmxHost(), path, { onError: (m) => errors.push(m), frameTimeoutMs: 100 });
    const idle = await SocketBackdoorPort.connect(path);
    await getVersion(idle);
    // A hello, then 8 bytes of a request that announces 16 MiB: held only until the limit.
    const head = Buffer.alloc(8);
    head.writeUInt32LE(16 * 1024 * 1024);
    const r = await rawClient(path, Buffer.concat([hello(1), head]));
    expect(r.closed).toBe(true);
    expect(errors.join('\n')).toMatch(/a request stalled for 100 ms/);
    // The idle caller waited longer than that between its calls, and is still served.
    expect((await getVersion(idle)).productType).toBeGreaterThan(0);
    await idle.close();
  });

  it('past maxConnections a caller is closed at accept; the others are served', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vmx-sim-')), 'host.sock');
    const errors: string[] = [];
    server = await serveHost(new VmxHost(), path, { onError: (m) => errors.push(m), maxConnections: 1 });
    const first = await SocketBackdoorPort.connect(path);
    const second = await SocketBackdoorPort.connect(path).catch((e: unknown) => e);
    expect(second).toMatchObject({ reason: 'bad-hello' });
    expect(errors.join('\n')).toMatch(/refusing a caller: 1 are connected \(at most 1\)/);
    expect((await getVersion(first)).productType).toBeGreaterThan(0);
    await first.close();
  });
});
