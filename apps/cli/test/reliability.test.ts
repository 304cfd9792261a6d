/**
 * The bounds of issue 13 held by the real processes: `vmw9 serve --host sim` and
 * `vmw9 --host sim agent`, each driven over its socket by raw 9P (support/raw9p.ts). Sizes are
 * just past each bound, so the file runs in well under a minute of work; the soak in
 * bench/soak.bench.ts runs the floods at full size. The bounds themselves are documented in
 * docs/protocol/9p.md §9.
 */

import { TREE_MSIZE } from '@vmw9/fs';
import { encode, OREAD, OWRITE } from 'ninep';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVmw9 } from './sim-host.js';
import { partialFrame, Raw9p, describe as said } from './support/raw9p.js';
import { memMB, startVmw9, type Vmw9Kind, type Vmw9Process } from './support/vmw9-process.js';

const KINDS: Vmw9Kind[] = ['serve', 'agent'];
/** Walks sent past the fid cap (maxFids, 65536 by default in ninep's server). */
const FLOOD_FIDS = 70_000;
/** Connections opened at once, past maxConnections (256 by default). */
const FLOOD_CONNECTIONS = 300;
/** Partial frames left stalled before Tversion on each server (dropped after frameTimeoutMs). */
const STALLED = 4;

/** A well-formed Twrite of `size` bytes to a fid nobody has: a server that took it would answer it. */
const wholeFrame = (size: number) =>
  encode(
    { type: 'Twrite', tag: 1, fid: 0xfffffffe, offset: 0n, data: Buffer.alloc(size - 23, 'x') },
    '9P2000',
  );

/**
 * Sends a good Tversion after what was written, and waits for the first of the connection's end or
 * a reply: a refused frame ends the connection with nothing answered.
 */
async function refusedUnanswered(k: Raw9p): Promise<void> {
  k.send({ type: 'Tversion', msize: 8192, version: '9P2000' }, 0xffff);
  await Promise.race([k.closed, k.reply(0xffff).catch(() => {})]);
  expect(k.replies.map(said)).toEqual([]);
  await k.closed;
}

interface Subject {
  v: Vmw9Process;
  /** Connections holding part of a small frame before Tversion, opened first. */
  stalled: Raw9p[];
  /** A session left idle between frames from the start: never dropped. */
  idle: Raw9p;
}
const subjects = new Map<Vmw9Kind, Subject>();

// Both processes start first, and their stalled frames are sent at once: the frame timeout
// (30 s) then runs while the other tests do, instead of after them.
beforeAll(async () => {
  await Promise.all(
    KINDS.map(async (kind) => {
      const v = await startVmw9(kind);
      const stalled: Raw9p[] = [];
      for (let i = 0; i < STALLED; i++) {
        const k = await Raw9p.open(v.sock);
        k.socket.write(partialFrame(100));
        stalled.push(k);
      }
      subjects.set(kind, { v, stalled, idle: await Raw9p.session(v.sock) });
    }),
  );
}, 60_000);

afterAll(async () => {
  for (const s of subjects.values()) {
    for (const k of s.stalled) k.close();
    s.idle.close();
    await s.v.stop();
  }
});

describe.each(KINDS)('vmw9 %s under hostile input', (kind) => {
  const subject = () => subjects.get(kind)!;

  it('refuses at once a frame bigger than 8192 bytes sent before Tversion', async () => {
    const { v } = subject();
    const k = await Raw9p.open(v.sock);
    // A whole frame, then a Tversion: a server that took the big frame would answer both.
    k.socket.write(wholeFrame(1 << 20));
    await refusedUnanswered(k);
    expect(v.alive()).toBe(true);
  });

  it('grants at most TREE_MSIZE and refuses at once a frame bigger than that', async () => {
    const { v } = subject();
    const k = await Raw9p.open(v.sock);
    const r = await k.rpc({ type: 'Tversion', msize: 1 << 20, version: '9P2000' }, 0xffff);
    expect(r).toMatchObject({ type: 'Rversion', msize: TREE_MSIZE });
    k.replies.length = 0;
    k.socket.write(wholeFrame(TREE_MSIZE + 1));
    await refusedUnanswered(k);
    expect(v.alive()).toBe(true);
  });

  it('refuses fids past the cap with an error, and lives with its memory bounded', async () => {
    const { v } = subject();
    const before = memMB(v.proc.pid!);
    const k = await Raw9p.session(v.sock);
    let granted = 0;
    const refusals = new Set<string>();
    // 1,000 in flight at a time: under the 1,024 outstanding requests a connection may have.
    for (let fid = 1; fid <= FLOOD_FIDS; fid += 1000) {
      const batch: Promise<unknown>[] = [];
      for (let f = fid; f < fid + 1000 && f <= FLOOD_FIDS; f++)
        batch.push(
          k.rpc({ type: 'Twalk', fid: 0, newfid: f, wnames: [] }).then((m) => {
            if (m.type === 'Rwalk') granted++;
            else refusals.add(said(m));
          }),
        );
      await Promise.all(batch);
    }
    const grew = memMB(v.proc.pid!) - before;
    k.close();
    // The root fid is one of the connection's fids.
    expect(granted).toBe(65535);
    expect([...refusals]).toEqual([expect.stringMatching(/too many fids on this connection/)]);
    expect(v.alive()).toBe(true);
    // 65,535 fids cost a few tens of MB; unbounded, the 1,000,000 of the soak cost 245 MB.
    expect(grew).toBeLessThan(150);
  });

  it('refuses connections past maxConnections at accept and serves the others', async () => {
    const { v } = subject();
    const conns: Raw9p[] = [];
    for (let i = 0; i < FLOOD_CONNECTIONS; i++) conns.push(await Raw9p.open(v.sock));
    const served = await Promise.all(
      conns.map((k) =>
        k.rpc({ type: 'Tversion', msize: 8192, version: '9P2000' }, 0xffff).then(
          (m) => m.type === 'Rversion',
          () => false,
        ),
      ),
    );
    const nServed = served.filter(Boolean).length;
    for (const k of conns) k.close();
    // The stalled and idle connections of beforeAll hold some of the 256 places.
    expect(nServed).toBeGreaterThan(0);
    expect(nServed).toBeLessThanOrEqual(256 - 1);
    expect(FLOOD_CONNECTIONS - nServed).toBeGreaterThanOrEqual(FLOOD_CONNECTIONS - 256);
    expect(v.alive()).toBe(true);
    // Once they are gone, a new client is served again (the server sees the closes a moment later).
    let again: Raw9p | undefined;
    for (let i = 0; i < 100 && !again; i++) {
      again = await Raw9p.session(v.sock).catch(() => undefined);
      if (!again) await new Promise((r) => setTimeout(r, 100));
    }
    expect(again, 'a session after the flood').toBeDefined();
    again!.close();
  });

  it('answers two reads, a flush and a clunk on one /events fid, each exactly once', async () => {
    const { v } = subject();
    const k = await Raw9p.session(v.sock);
    await k.open(7, ['events'], OREAD);
    const read11 = k.reply(11);
    k.send({ type: 'Tread', fid: 7, offset: 0n, count: 8192 }, 10);
    k.send({ type: 'Tread', fid: 7, offset: 0n, count: 8192 }, 11);
    const flushed = await k.rpc({ type: 'Tflush', oldtag: 10 }, 20);
    expect(flushed.type).toBe('Rflush');
    const clunked = await k.rpc({ type: 'Tclunk', fid: 7 }, 21);
    expect(clunked.type).toBe('Rclunk');
    // The read still blocked when its fid went is answered (an error or a record), and its tag
    // is free again: a new request on it gets its own answer.
    await read11;
    const reused = await k.rpc({ type: 'Tclunk', fid: 7 }, 11);
    expect(said(reused)).toMatch(/^Rerror/);
    expect(said(reused)).not.toMatch(/tag/);
    // A last round trip: every earlier reply has arrived.
    await k.rpc({ type: 'Tclunk', fid: 99 }, 30);
    expect(
      k.answers(10).length,
      'the flushed read: answered before its Rflush or not at all',
    ).toBeLessThanOrEqual(1);
    expect(k.answers(11).length, 'the read on the clunked fid, then the reused tag').toBe(2);
    expect(k.answers(20).length).toBe(1);
    expect(k.answers(21).length).toBe(1);
    k.close();
    expect(v.alive()).toBe(true);
  });

  it('refuses a ctl write longer than a control message', async () => {
    const { v } = subject();
    const k = await Raw9p.session(v.sock);
    await k.open(5, ['ctl'], OWRITE);
    const long = await k.rpc({ type: 'Twrite', fid: 5, offset: 0n, data: Buffer.alloc(60_000, 'debug 1\n') });
    expect(said(long)).toMatch(/Rerror control message too long/);
    // The file still works.
    await k.open(6, ['ctl'], OREAD);
    const r = await k.rpc({ type: 'Tread', fid: 6, offset: 0n, count: 8192 });
    expect(r.type === 'Rread' && Buffer.from(r.data).toString()).toMatch(/debug/);
    k.close();
  });

  it('refuses a guestinfo name too long for a directory entry, and the listing still reads', async () => {
    const { v } = subject();
    const k = await Raw9p.session(v.sock);
    const w = await k.rpc({ type: 'Twalk', fid: 0, newfid: 3, wnames: ['guestinfo'] });
    expect(w.type).toBe('Rwalk');
    const c = await k.rpc({ type: 'Tcreate', fid: 3, name: 'k'.repeat(300), perm: 0o644, mode: OWRITE });
    expect(said(c)).toMatch(/Rerror .*(long|255)/);
    await k.open(4, ['guestinfo'], OREAD);
    const r = await k.rpc({ type: 'Tread', fid: 4, offset: 0n, count: 8192 });
    expect(r.type).toBe('Rread');
    k.close();
  });

  it('drops the frames stalled before Tversion, never the idle session', async () => {
    const { v, stalled, idle } = subject();
    // frameTimeoutMs (30 s): the test's timeout is only the safety net.
    await Promise.all(stalled.map((k) => k.closed));
    for (const k of stalled) expect(k.replies).toEqual([]);
    const r = await idle.rpc({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['version'] });
    expect(r.type).toBe('Rwalk');
    expect(v.alive()).toBe(true);
  }, 120_000);

  it('still answers a normal client correctly after it all', async () => {
    const { v } = subject();
    const r = await runVmw9(['9p', 'read', `unix!${v.sock}`, '/version']);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^transport sim /m);
    expect(v.alive()).toBe(true);
    expect(v.log()).not.toMatch(/RangeError|uncaught|FATAL/i);
  });
});
