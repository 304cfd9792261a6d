/**
 * State that belongs to one server or one tree, never to the module: qid paths, exclusive use;
 * and the event-file base (eofmode) and the abortable wait every blocking file uses.
 */
import { describe, expect, it } from 'vitest';
import {
  abortableSleep,
  abortableWait,
  Dir,
  DMEXCL,
  EofMode,
  Errno,
  type FidContext,
  File,
  NinepError,
  NinepServer,
  OREAD,
  RamFile,
  StreamFile,
} from '../src/index.js';
import { RawPeer } from './raw.js';

describe('qid paths', () => {
  it('come from the tree, so building another tree does not move this one’s sequence', () => {
    const a = new Dir('/');
    const first = a.add(new RamFile('x')).qidPath;
    const b = new Dir('/');
    for (let i = 0; i < 50; i++) void b.add(new RamFile(`f${i}`)).qidPath;
    expect(a.add(new RamFile('y')).qidPath).toBe(first + 1n);
    // Each tree starts its own count; within one tree every node has its own path.
    const paths = [a, ...a.children.values()].map((n) => n.qidPath);
    expect(new Set(paths).size).toBe(paths.length);
    expect(b.qids).not.toBe(a.qids);
    expect(a.children.get('x')!.qids).toBe(a.qids);
  });

  it('can be supplied by a node proxying another file system, and stay put across a move', () => {
    class Proxied extends File {
      override get qidPath(): bigint {
        return 0xabcdn;
      }
    }
    const root = new Dir('/');
    expect(root.add(new Proxied('remote')).qid.path).toBe(0xabcdn);
    const moved = root.add(new RamFile('m'));
    const before = moved.qidPath;
    const sub = root.add(new Dir('sub'));
    root.children.delete('m');
    sub.add(moved);
    expect(moved.qidPath).toBe(before);
  });
});

describe('exclusive use', () => {
  async function openExcl(server: NinepServer, fid: number) {
    const p = new RawPeer(server);
    await p.version();
    await p.attach(0);
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: fid, wnames: ['excl'] });
    return { p, reply: await p.rpc({ type: 'Topen', tag: 3, fid, mode: OREAD }) };
  }

  it('is per server: two servers of one tree do not refuse each other’s opens', async () => {
    const root = new Dir('/', 0o777);
    const excl = root.add(new RamFile('excl', 0o666));
    excl.mode |= DMEXCL;
    const one = new NinepServer({ root, permissions: false });
    const two = new NinepServer({ root, permissions: false });
    expect((await openExcl(one, 1)).reply.type).toBe('Ropen');
    expect((await openExcl(one, 1)).reply).toMatchObject({
      type: 'Rerror',
      ename: 'exclusive use file already open',
    });
    expect((await openExcl(two, 1)).reply.type).toBe('Ropen');
    expect(one.exclusive).not.toBe(two.exclusive);
    await one.close();
    await two.close();
  });
});

describe('StreamFile and eofmode', () => {
  class Counter extends StreamFile {
    n = 0;
    protected override nextRecord(_fid: FidContext, count: number): Uint8Array {
      return Buffer.from(`${++this.n}\n`).subarray(0, count);
    }
  }
  const fid: FidContext = { user: { uname: 'u', nUname: 0 }, mode: null, aux: undefined };
  const signal = new AbortController().signal;

  it('reads a record whatever the offset; with the shared eofmode on, offset > 0 is EOF', async () => {
    const eof = new EofMode();
    const a = new Counter('a', 0o444, undefined, eof);
    const b = new Counter('b', 0o444, undefined, eof);
    expect(Buffer.from(await a.read(fid, 0, 10, signal)).toString()).toBe('1\n');
    expect(Buffer.from(await a.read(fid, 2, 10, signal)).toString()).toBe('2\n');
    eof.on = true;
    expect((await a.read(fid, 2, 10, signal)).length).toBe(0);
    expect((await b.read(fid, 5, 10, signal)).length).toBe(0);
    expect(Buffer.from(await b.read(fid, 0, 10, signal)).toString()).toBe('1\n');
    expect(new Counter('c').eofmode.on).toBe(false);
  });
});

describe('abortableWait', () => {
  it('resolves on wake and unregisters once, whichever way it ends', async () => {
    let wake: () => void = () => {};
    let disarmed = 0;
    const done = abortableWait(new AbortController().signal, (w) => {
      wake = w;
      return () => void disarmed++;
    });
    wake();
    wake();
    await done;
    expect(disarmed).toBe(1);
    // Woken while arming.
    await abortableWait(new AbortController().signal, (w) => {
      w();
      return () => void disarmed++;
    });
    expect(disarmed).toBe(2);
  });

  it('rejects with the abort’s reason (at once when already aborted), and the sleep likewise', async () => {
    const ac = new AbortController();
    let disarmed = 0;
    const waiting = abortableWait(ac.signal, () => () => void disarmed++);
    ac.abort(new NinepError(Errno.EINTR));
    await expect(waiting).rejects.toMatchObject({ errno: Errno.EINTR });
    expect(disarmed).toBe(1);
    const gone = new AbortController();
    gone.abort(new NinepError(Errno.EINTR, 'flushed'));
    await expect(abortableWait(gone.signal, () => () => {})).rejects.toThrow('flushed');
    const sleeper = new AbortController();
    const t = Date.now();
    const sleeping = abortableSleep(10_000, sleeper.signal);
    sleeper.abort();
    await expect(sleeping).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - t).toBeLessThan(1000);
    await abortableSleep(1, new AbortController().signal);
  });
});
