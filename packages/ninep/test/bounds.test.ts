/**
 * What a client can make the server hold is bounded, and every request is answered exactly once:
 * fids per connection, frames before Tversion and frames that stall, connections, event records,
 * control writes; two reads, a flush and a clunk on one event fid; requests that name a fid a
 * pending walk is still creating.
 */
import { lstatSync, mkdtempSync } from 'node:fs';
import { createConnection, Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CtlFile,
  createRamfs,
  Dir,
  EventFile,
  encode,
  type FidContext,
  NinepServer,
  type Node,
  OREAD,
  RamFile,
  type RMessage,
} from '../src/index.js';
import { RawPeer } from './raw.js';

const isErr = (r: RMessage) => r.type === 'Rerror' || r.type === 'Rlerror';
/** A reply's data as text, or its type when it is not an Rread. */
const text = (r: RMessage) => (r.type === 'Rread' ? Buffer.from(r.data).toString() : r.type);

async function session(server: NinepServer) {
  const p = new RawPeer(server);
  await p.version('9P2000', 65536);
  expect((await p.attach(0)).type).toBe('Rattach');
  return p;
}

async function openEvents(p: RawPeer, fid: number) {
  expect((await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: fid, wnames: ['events'] })).type).toBe(
    'Rwalk',
  );
  expect((await p.rpc({ type: 'Topen', tag: 3, fid, mode: OREAD })).type).toBe('Ropen');
}

describe('fids per connection', () => {
  it('a walk past maxFids is refused with EMFILE; a clunk makes room again', async () => {
    const server = new NinepServer({ root: createRamfs('glenda'), permissions: false, maxFids: 50 });
    const p = await session(server);
    for (let f = 1; f < 50; f++)
      expect((await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: f, wnames: [] })).type).toBe('Rwalk');
    const over = await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 50, wnames: [] });
    expect(over).toMatchObject({
      type: 'Rerror',
      ename: expect.stringMatching(/too many fids on this connection \(the limit is 50\)/),
    });
    await p.rpc({ type: 'Tclunk', tag: 3, fid: 7 });
    expect((await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 50, wnames: [] })).type).toBe('Rwalk');
  });

  it('walks in flight together do not pass the cap: each counts from its start', async () => {
    const server = new NinepServer({ root: createRamfs('glenda'), permissions: false, maxFids: 50 });
    const p = await session(server);
    // 80 walks in one write: every one starts before any is answered.
    p.sendRaw(
      Buffer.concat(
        Array.from({ length: 80 }, (_, i) =>
          encode({ type: 'Twalk', tag: 100 + i, fid: 0, newfid: 1 + i, wnames: [] }, p.dialect),
        ),
      ),
    );
    const replies = await Promise.all(Array.from({ length: 80 }, (_, i) => p.reply(100 + i)));
    expect(replies.filter((r) => r.type === 'Rwalk')).toHaveLength(49);
    expect(server.connections.values().next().value?.fids.size).toBe(50);
  });
});

describe('fids across the server', () => {
  it('past maxTotalFids a walk on any connection is refused with ENFILE; a clunk anywhere makes room', async () => {
    const server = new NinepServer({
      root: createRamfs('glenda'),
      permissions: false,
      maxFids: 50,
      maxTotalFids: 60,
    });
    const a = await session(server);
    const b = await session(server);
    const walk = (p: RawPeer, newfid: number) => p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid, wnames: [] });
    // Two roots, then 40 fids on a and 18 on b: 60 in all, each connection under its own 50.
    for (let f = 1; f <= 40; f++) expect((await walk(a, f)).type).toBe('Rwalk');
    for (let f = 1; f <= 18; f++) expect((await walk(b, f)).type).toBe('Rwalk');
    expect(await walk(b, 19)).toMatchObject({
      type: 'Rerror',
      ename: 'too many fids on this server (the limit is 60 across all connections)',
    });
    await a.rpc({ type: 'Tclunk', tag: 3, fid: 5 });
    expect((await walk(b, 19)).type).toBe('Rwalk');
  });
});

describe('frames', () => {
  it('before Tversion only a small frame is taken: a 1 MiB size field ends the connection at once', async () => {
    const p = new RawPeer(new NinepServer({ root: createRamfs(), permissions: false }));
    const h = Buffer.alloc(7);
    h.writeUInt32LE(1 << 20);
    h.writeUInt8(100, 4);
    p.sendRaw(Buffer.concat([h, Buffer.alloc(1000)]));
    while (!p.closed) await new Promise((r) => setImmediate(r));
  });

  it('after Tversion a frame up to msize is taken', async () => {
    const root = createRamfs('glenda');
    root.add(new RamFile('f', 0o666, 'glenda'));
    const p = await session(new NinepServer({ root, permissions: false }));
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['f'] });
    await p.rpc({ type: 'Topen', tag: 3, fid: 1, mode: 1 });
    const w = await p.rpc({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: Buffer.alloc(60_000, 1) });
    expect(w).toMatchObject({ type: 'Rwrite', count: 60_000 });
  });

  it('a frame that stalls is dropped; a connection idle between frames is not', async () => {
    const server = new NinepServer({ root: createRamfs('glenda'), permissions: false, frameTimeoutMs: 100 });
    const idle = await session(server);
    const stalled = await session(server);
    stalled.sendRaw(Buffer.from([0x20, 0, 0])); // three bytes of a frame's size, then nothing
    while (!stalled.closed) await new Promise((r) => setTimeout(r, 10));
    // The idle one has been idle longer than the stalled frame was allowed: it is still served.
    expect(idle.closed).toBe(false);
    expect((await idle.rpc({ type: 'Tclunk', tag: 5, fid: 0 })).type).toBe('Rclunk');
  });

  it('a refused Tversion leaves no session: later requests need a new Tversion', async () => {
    const p = await session(new NinepServer({ root: createRamfs('glenda'), permissions: false }));
    expect(isErr(await p.rpc({ type: 'Tversion', tag: 0xffff, msize: 100, version: '9P2000' }))).toBe(true);
    expect(await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] })).toMatchObject({
      type: 'Rerror',
      ename: 'version not negotiated',
    });
  });
});

describe('names', () => {
  it('a create or rename past maxNameBytes is ENAMETOOLONG; the directory still lists', async () => {
    const p = await session(new NinepServer({ root: createRamfs('glenda'), permissions: false }));
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] });
    const long = await p.rpc({
      type: 'Tcreate',
      tag: 3,
      fid: 1,
      name: 'é'.repeat(128),
      perm: 0o644,
      mode: 1,
    });
    expect(long).toMatchObject({ type: 'Rerror', ename: 'a name of 256 bytes is longer than 255' });
    const ok = await p.rpc({ type: 'Tcreate', tag: 3, fid: 1, name: 'k'.repeat(255), perm: 0o644, mode: 1 });
    expect(ok.type).toBe('Rcreate');
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 2, wnames: [] });
    await p.rpc({ type: 'Topen', tag: 3, fid: 2, mode: OREAD });
    const list = await p.rpc({ type: 'Tread', tag: 4, fid: 2, offset: 0n, count: 4000 });
    expect(list.type).toBe('Rread');
  });
});

describe('connections', () => {
  it('past maxConnections a new connection is closed at accept; the others are served', async () => {
    const logs: string[] = [];
    const server = new NinepServer({
      root: createRamfs(),
      permissions: false,
      maxConnections: 2,
      log: (l) => logs.push(l),
    });
    const path = join(mkdtempSync(join(tmpdir(), 'ninep-')), 's.sock');
    await server.listen(`unix!${path}`);
    const open = () =>
      new Promise<{ closed: Promise<void> }>((resolve) => {
        const s = createConnection(path, () =>
          resolve({ closed: new Promise((r) => s.on('close', () => r())) }),
        );
        s.on('error', () => undefined);
      });
    await open();
    await open();
    while (server.connections.size < 2) await new Promise((r) => setImmediate(r));
    const third = await open();
    await third.closed;
    expect(server.connections.size).toBe(2);
    expect(logs.join('\n')).toMatch(/refusing a connection: 2 are open \(maxConnections 2\)/);
    await server.close();
  });
});

describe('event files', () => {
  function eventServer() {
    const root = createRamfs('glenda');
    const events = root.add(new EventFile('events', 0o444, 'glenda'));
    return { events, server: new NinepServer({ root, permissions: false }) };
  }
  const read = (p: RawPeer, tag: number, fid = 1) =>
    p.send({ type: 'Tread', tag, fid, offset: 0n, count: 100 });
  /** A session with two reads (tags 10 and 11) blocked on one /events fid (fid 1). */
  async function twoBlockedReads() {
    const { events, server } = eventServer();
    const p = await session(server);
    await openEvents(p, 1);
    read(p, 10);
    read(p, 11);
    while (events.blockedReaders < 2) await new Promise((r) => setImmediate(r));
    return { events, p };
  }

  it('two reads on one fid are each answered with their own record', async () => {
    const { events, p } = await twoBlockedReads();
    events.post('a\n');
    events.post('b\n');
    expect([text(await p.reply(10)), text(await p.reply(11))].sort()).toEqual(['a\n', 'b\n']);
  });

  it('flushing one of two blocked reads leaves the other to be answered', async () => {
    const { events, p } = await twoBlockedReads();
    expect(await p.rpc({ type: 'Tflush', tag: 20, oldtag: 10 })).toEqual({ type: 'Rflush', tag: 20 });
    events.post('after\n');
    expect(text(await p.reply(11))).toBe('after\n');
  });

  it('a clunk while reads block answers them with an error and frees their tags', async () => {
    const { events, p } = await twoBlockedReads();
    expect((await p.rpc({ type: 'Tclunk', tag: 21, fid: 1 })).type).toBe('Rclunk');
    for (const tag of [10, 11])
      expect(await p.reply(tag)).toMatchObject({
        type: 'Rerror',
        ename: expect.stringMatching(/fid was clunked/),
      });
    expect(events.blockedReaders).toBe(0);
    // Tag 10 is free: reusing it is answered, not "duplicate tag".
    expect(await p.rpc({ type: 'Tread', tag: 10, fid: 1, offset: 0n, count: 10 })).toMatchObject({
      type: 'Rerror',
      ename: expect.stringMatching(/fid unknown/),
    });
  });

  it('records are kept once: a reader past maxQueued behind reads "dropped N", then the newest', async () => {
    const { events, server } = eventServer();
    events.maxQueued = 4;
    const p = await session(server);
    await openEvents(p, 1);
    for (let i = 1; i <= 10; i++) events.post(`${i}\n`);
    const got: string[] = [];
    for (let t = 30; t < 35; t++) {
      read(p, t);
      got.push(text(await p.reply(t)));
    }
    expect(got).toEqual(['dropped 6\n', '7\n', '8\n', '9\n', '10\n']);
  });
});

describe('control files', () => {
  it('a write longer than maxWrite is refused before it is parsed; a bad line anywhere applies none', async () => {
    const root = createRamfs('glenda');
    const seen: string[] = [];
    root.add(
      new CtlFile(
        'ctl',
        [{ name: 'go', args: 1, run: ([a]) => void seen.push(a!) }],
        () => '',
        0o666,
        'glenda',
      ),
    );
    const p = await session(new NinepServer({ root, permissions: false }));
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['ctl'] });
    await p.rpc({ type: 'Topen', tag: 3, fid: 1, mode: 1 });
    const long = await p.rpc({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: Buffer.alloc(9000, 0x61) });
    expect(long).toMatchObject({
      type: 'Rerror',
      ename: expect.stringMatching(/control message too long \(9000 bytes; at most 8192\)/),
    });
    const mixed = await p.rpc({
      type: 'Twrite',
      tag: 4,
      fid: 1,
      offset: 0n,
      data: Buffer.from('go 1\nfrob\ngo 2\n'),
    });
    expect(mixed).toMatchObject({ type: 'Rerror', ename: 'unknown control message: "frob"' });
    expect(seen).toEqual([]);
  });
});

describe('requests that name a fid a pending walk creates', () => {
  it('walk, open and read sent back to back all succeed, even when the walk is slow', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    class SlowDir extends Dir {
      override async lookup(name: string, fid: FidContext): Promise<Node | undefined> {
        await gate;
        return super.lookup(name, fid);
      }
    }
    const root = new SlowDir('/', 0o755, 'glenda');
    const f = root.add(new RamFile('f', 0o644, 'glenda'));
    f.data = Buffer.from('hello');
    const p = await session(new NinepServer({ root, permissions: false }));
    p.send({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['f'] });
    p.send({ type: 'Topen', tag: 3, fid: 1, mode: OREAD });
    p.send({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 100 });
    release();
    expect((await p.reply(2)).type).toBe('Rwalk');
    expect((await p.reply(3)).type).toBe('Ropen');
    expect(text(await p.reply(4))).toBe('hello');
  });
});

describe('the Unix socket', () => {
  it('is never wider than 0600, even between bind and the chmod, whatever the umask', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ninep-')), 'private.sock');
    const seen: number[] = [];
    // Look at the file the instant bind has made it: before anything else can run.
    const original = Server.prototype.listen;
    Server.prototype.listen = function (this: Server, ...args: unknown[]) {
      const r = (original as (...a: unknown[]) => Server).apply(this, args);
      if (args[0] === path) seen.push(lstatSync(path).mode & 0o777);
      return r;
    } as typeof Server.prototype.listen;
    const umask = process.umask(0);
    const server = new NinepServer({ root: createRamfs(), permissions: false });
    try {
      await server.listen(`unix!${path}`);
    } finally {
      process.umask(umask);
      Server.prototype.listen = original;
    }
    expect(seen).toEqual([0o600]);
    expect(lstatSync(path).mode & 0o777).toBe(0o600);
    await server.close();
  });
});
