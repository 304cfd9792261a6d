/** The server against hand-built frames: the conformance checklist of docs/protocol/9p.md §12. */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CtlFile,
  createRamfs,
  DMAPPEND,
  DMDIR,
  DMEXCL,
  decodeDirents,
  decodeStats,
  dontTouch,
  EventFile,
  encode,
  File,
  NinepServer,
  ORCLOSE,
  ORDWR,
  OREAD,
  OTRUNC,
  OWRITE,
  QTDIR,
  RamDir,
  RamFile,
  type RMessage,
  StatusFile,
} from '../src/index.js';
import { RawPeer, tick } from './raw.js';

function makeTree() {
  const root = createRamfs('glenda');
  const a = root.add(new RamDir('a', 0o755, 'glenda'));
  const b = a.add(new RamDir('b', 0o755, 'glenda'));
  const f = b.add(new RamFile('f', 0o644, 'glenda'));
  f.data = Buffer.from('hello, world\n');
  const events = root.add(new EventFile('events', 0o444, 'glenda'));
  let generation = 0;
  root.add(new StatusFile('status', () => `generation ${++generation}\n`, 0o444, 'glenda'));
  const ctlLog: string[][] = [];
  root.add(
    new CtlFile(
      'ctl',
      [
        { name: 'say', run: (args) => void ctlLog.push(args) },
        {
          name: 'fail',
          args: 0,
          run: () => {
            throw new Error('it failed');
          },
        },
      ],
      () => 'commands: say fail\n',
      0o666,
      'glenda',
    ),
  );
  const excl = root.add(new RamFile('excl', 0o666, 'glenda'));
  excl.mode |= DMEXCL;
  const log = root.add(new RamFile('log', 0o666, 'glenda'));
  log.mode |= DMAPPEND;
  root.add(new RamFile('secret', 0o600, 'other'));
  for (let i = 0; i < 30; i++) a.add(new RamFile(`n${String(i).padStart(2, '0')}`, 0o644, 'glenda'));
  return { root, events, ctlLog, f };
}

let tree: ReturnType<typeof makeTree>;
let server: NinepServer;
let p: RawPeer;
beforeEach(async () => {
  tree = makeTree();
  server = new NinepServer({ root: tree.root, flushGraceMs: 300 });
  p = new RawPeer(server);
});

const isErr = (r: RMessage) => r.type === 'Rerror' || r.type === 'Rlerror';
async function walkOpen(path: string[], fid: number, mode: number) {
  expect((await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: fid, wnames: path })).type).toBe('Rwalk');
  return p.rpc({ type: 'Topen', tag: 3, fid, mode });
}

describe('framing', () => {
  it('reassembles split and coalesced frames', async () => {
    const v = encode({ type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000' }, '9P2000');
    for (const b of v) p.sendRaw(Buffer.from([b])); // one byte at a time
    expect(await p.reply(0xffff)).toMatchObject({ type: 'Rversion', version: '9P2000' });
    const two = Buffer.concat([
      encode({ type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'glenda', aname: '' }, '9P2000'),
      encode({ type: 'Tflush', tag: 2, oldtag: 99 }, '9P2000'),
    ]);
    p.sendRaw(two);
    expect((await p.reply(1)).type).toBe('Rattach');
    expect(await p.reply(2)).toEqual({ type: 'Rflush', tag: 2 });
    expect(await p.rpc({ type: 'Tstat', tag: 3, fid: 0 })).toMatchObject({
      type: 'Rstat',
      stat: { name: '/' },
    });
  });

  it('closes the connection on a frame above msize or below 7 bytes', async () => {
    await p.version('9P2000', 8192);
    const big = Buffer.alloc(8);
    big.writeUInt32LE(8193, 0);
    p.sendRaw(big);
    await tick(20);
    expect(p.closed).toBe(true);
    const q = new RawPeer(server);
    q.sendRaw(Buffer.from([3, 0, 0, 0]));
    await tick(20);
    expect(q.closed).toBe(true);
  });

  it('answers a malformed body with an error and keeps going', async () => {
    await p.version();
    const f = encode({ type: 'Tclunk', tag: 9, fid: 1 }, '9P2000');
    p.sendRaw(Buffer.concat([Buffer.from([12, 0, 0, 0]), f.subarray(4), Buffer.from([1])]));
    expect(await p.reply(9)).toMatchObject({ type: 'Rerror', ename: expect.stringMatching(/Tclunk/) });
    const unknown = Buffer.from([7, 0, 0, 0, 200, 10, 0]);
    p.sendRaw(unknown);
    expect(await p.reply(10)).toMatchObject({ type: 'Rerror', ename: 'unknown message' });
    expect((await p.attach()).type).toBe('Rattach');
  });
});

describe('version', () => {
  it('negotiates each dialect and caps msize', async () => {
    for (const v of ['9P2000', '9P2000.u', '9P2000.L'] as const) {
      const q = new RawPeer(server);
      expect(await q.version(v, 1 << 24)).toMatchObject({ type: 'Rversion', version: v, msize: 1 << 20 });
    }
    const q = new RawPeer(server);
    expect(await q.version('9P2000.X' as never, 8192)).toMatchObject({ version: '9P2000', msize: 8192 });
    expect(await new RawPeer(server).version('10P' as never)).toMatchObject({
      type: 'Rversion',
      version: 'unknown',
    });
    expect((await new RawPeer(server).version('9P2000', 100)).type).toBe('Rerror');
    const only = new NinepServer({ root: tree.root, dialects: ['9P2000.L'] });
    expect(await new RawPeer(only).version('9P2000')).toMatchObject({ version: 'unknown' });
  });

  it('a second Tversion clunks every fid', async () => {
    await p.version();
    await p.attach(0);
    expect((await walkOpen(['a', 'b', 'f'], 5, OREAD)).type).toBe('Ropen');
    await p.version();
    expect(p.conn.fids.size).toBe(0);
    expect(isErr(await p.rpc({ type: 'Tstat', tag: 4, fid: 0 }))).toBe(true);
  });
});

describe('auth and attach', () => {
  it('answers Tauth with an error in each dialect, then attaches with NOFID', async () => {
    await p.version('9P2000');
    expect(await p.rpc({ type: 'Tauth', tag: 1, afid: 7, uname: 'glenda', aname: '' })).toMatchObject({
      type: 'Rerror',
      ename: 'authentication not required',
    });
    const l = new RawPeer(server);
    await l.version('9P2000.L');
    // ENOENT: what diod's libnpclient reads as "authentication not required".
    expect(await l.rpc({ type: 'Tauth', tag: 1, afid: 7, uname: '', aname: '', nUname: 0 })).toEqual({
      type: 'Rlerror',
      tag: 1,
      ecode: 2,
    });
    expect((await l.attach()).type).toBe('Rattach');
  });

  it('refuses an unknown afid and a fid in use; several users attach', async () => {
    await p.version();
    expect(isErr(await p.rpc({ type: 'Tattach', tag: 1, fid: 0, afid: 3, uname: 'glenda', aname: '' }))).toBe(
      true,
    );
    const r = await p.attach(0);
    expect(r).toMatchObject({ type: 'Rattach', qid: { type: QTDIR } });
    expect(isErr(await p.attach(0))).toBe(true);
    expect((await p.attach(1, 'other')).type).toBe('Rattach');
    expect(p.conn.fids.get(1)?.user.uname).toBe('other');
  });
});

describe('walk', () => {
  beforeEach(async () => {
    await p.version();
    await p.attach(0);
  });
  it('0 names clones; 1..16 names walk; 17 is an error', async () => {
    expect(await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] })).toEqual({
      type: 'Rwalk',
      tag: 2,
      qids: [],
    });
    expect(p.conn.fids.has(1)).toBe(true);
    const r = await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 2, wnames: ['a', 'b', 'f'] });
    expect(r.type === 'Rwalk' && r.qids.map((q) => q.type)).toEqual([QTDIR, QTDIR, 0]);
    const dots = Array.from({ length: 16 }, (_, i) => (i % 2 ? '..' : 'a'));
    expect((await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 3, wnames: dots })).type).toBe('Rwalk');
    expect(isErr(await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 4, wnames: [...dots, 'a'] }))).toBe(
      true,
    );
    expect(p.conn.fids.has(4)).toBe(false);
  });
  it('first-element failure is an error; a later failure is a partial Rwalk without newfid', async () => {
    const r1 = await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['nope', 'b'] });
    expect(r1).toMatchObject({ type: 'Rerror', ename: 'file does not exist' });
    const r2 = await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a', 'nope', 'f'] });
    expect(r2.type === 'Rwalk' && r2.qids.length).toBe(1);
    expect(p.conn.fids.has(1)).toBe(false);
    // walking through a file fails at that element
    const r3 = await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a', 'b', 'f', 'x'] });
    expect(r3.type === 'Rwalk' && r3.qids.length).toBe(3);
  });
  it('.. at the root is the root; newfid in use is an error; newfid == fid walks in place', async () => {
    const root = await p.rpc({ type: 'Tstat', tag: 2, fid: 0 });
    const r = await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['..'] });
    expect(r.type === 'Rwalk' && root.type === 'Rstat' && r.qids[0]!.path).toBe(
      root.type === 'Rstat' ? root.stat.qid.path : 0n,
    );
    expect(isErr(await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a'] }))).toBe(true);
    expect((await p.rpc({ type: 'Twalk', tag: 2, fid: 1, newfid: 1, wnames: ['a', 'b'] })).type).toBe(
      'Rwalk',
    );
    expect(await p.rpc({ type: 'Tstat', tag: 2, fid: 1 })).toMatchObject({ stat: { name: 'b' } });
  });
  it('walks from an open fid to a new fid, never in place', async () => {
    expect((await walkOpen(['a'], 1, OREAD)).type).toBe('Ropen');
    expect((await p.rpc({ type: 'Twalk', tag: 2, fid: 1, newfid: 2, wnames: ['b'] })).type).toBe('Rwalk');
    expect(p.conn.fids.get(2)?.mode).toBeNull();
    expect(isErr(await p.rpc({ type: 'Twalk', tag: 2, fid: 1, newfid: 1, wnames: ['b'] }))).toBe(true);
  });
  it('needs search permission', async () => {
    await p.attach(9, 'stranger');
    tree.root.children.get('a')!.mode = DMDIR | 0o700;
    const r = await p.rpc({ type: 'Twalk', tag: 2, fid: 9, newfid: 10, wnames: ['a', 'b'] });
    expect(r.type === 'Rwalk' && r.qids.length).toBe(1); // into a, not through it
    expect(p.conn.fids.has(10)).toBe(false);
  });
});

describe('open, read, write', () => {
  beforeEach(async () => {
    await p.version();
    await p.attach(0);
  });
  it('checks access modes and permissions, directory writes, double open', async () => {
    expect(isErr(await walkOpen(['secret'], 1, OREAD))).toBe(true);
    expect(isErr(await walkOpen(['a'], 2, OWRITE))).toBe(true);
    expect((await walkOpen(['a', 'b', 'f'], 3, ORDWR)).type).toBe('Ropen');
    expect(isErr(await p.rpc({ type: 'Topen', tag: 3, fid: 3, mode: OREAD }))).toBe(true);
    expect(isErr(await walkOpen(['status'], 4, OWRITE))).toBe(true);
    // read on a fid open for writing only
    expect((await walkOpen(['log'], 5, OWRITE)).type).toBe('Ropen');
    expect(isErr(await p.rpc({ type: 'Tread', tag: 4, fid: 5, offset: 0n, count: 10 }))).toBe(true);
  });
  it('OTRUNC truncates, ORCLOSE removes at clunk, DMEXCL allows one open', async () => {
    expect((await walkOpen(['a', 'b', 'f'], 1, OWRITE | OTRUNC)).type).toBe('Ropen');
    expect(tree.f.data.length).toBe(0);
    expect((await walkOpen(['a', 'b', 'f'], 2, OREAD | ORCLOSE)).type).toBe('Ropen');
    await p.rpc({ type: 'Tclunk', tag: 5, fid: 2 });
    expect(
      tree.root.children.get('a')!.isDir && (tree.root.children.get('a') as RamDir).children.get('b'),
    ).toBeTruthy();
    expect(((tree.root.children.get('a') as RamDir).children.get('b') as RamDir).children.has('f')).toBe(
      false,
    );
    expect((await walkOpen(['excl'], 3, OREAD)).type).toBe('Ropen');
    expect(await walkOpen(['excl'], 4, OREAD)).toMatchObject({
      type: 'Rerror',
      ename: 'exclusive use file already open',
    });
    await p.rpc({ type: 'Tclunk', tag: 5, fid: 3 });
    expect((await p.rpc({ type: 'Topen', tag: 3, fid: 4, mode: OREAD })).type).toBe('Ropen');
  });
  it('clamps reads to msize − 24, returns EOF, accepts count-0 writes, appends to DMAPPEND files', async () => {
    tree.f.data = Buffer.alloc(20000, 7);
    await walkOpen(['a', 'b', 'f'], 1, ORDWR);
    const r = await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 100000 });
    expect(r.type === 'Rread' && r.data.length).toBe(8192 - 24);
    const eof = await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 20000n, count: 10 });
    expect(eof.type === 'Rread' && eof.data.length).toBe(0);
    expect(
      await p.rpc({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: new Uint8Array(0) }),
    ).toMatchObject({ type: 'Rwrite', count: 0 });
    await walkOpen(['log'], 2, OWRITE);
    await p.rpc({ type: 'Twrite', tag: 4, fid: 2, offset: 0n, data: Buffer.from('one ') });
    await p.rpc({ type: 'Twrite', tag: 4, fid: 2, offset: 0n, data: Buffer.from('two') });
    expect((tree.root.children.get('log') as RamFile).data.toString()).toBe('one two');
  });
  it('status files regenerate at open and end with EOF', async () => {
    await walkOpen(['status'], 1, OREAD);
    const r = await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 100 });
    expect(r.type === 'Rread' && Buffer.from(r.data).toString()).toBe('generation 1\n');
    const r2 = await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 11n, count: 100 });
    expect(r2.type === 'Rread' && Buffer.from(r2.data).toString()).toBe('1\n');
    const r3 = await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 13n, count: 100 });
    expect(r3.type === 'Rread' && r3.data.length).toBe(0);
    await walkOpen(['status'], 2, OREAD);
    const r4 = await p.rpc({ type: 'Tread', tag: 4, fid: 2, offset: 0n, count: 100 });
    expect(r4.type === 'Rread' && Buffer.from(r4.data).toString()).toBe('generation 2\n');
  });
  it('ctl files run commands and return their errors as the write error', async () => {
    await walkOpen(['ctl'], 1, ORDWR);
    expect(
      await p.rpc({
        type: 'Twrite',
        tag: 4,
        fid: 1,
        offset: 0n,
        data: Buffer.from("say hello 'big world'\n"),
      }),
    ).toMatchObject({ type: 'Rwrite', count: 22 });
    expect(tree.ctlLog).toEqual([['hello', 'big world']]);
    expect(
      await p.rpc({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: Buffer.from('fail') }),
    ).toMatchObject({ type: 'Rerror', ename: 'it failed' });
    expect(
      await p.rpc({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: Buffer.from('bogus 1') }),
    ).toMatchObject({ type: 'Rerror', ename: 'unknown control message: "bogus 1"' });
    expect(
      await p.rpc({ type: 'Twrite', tag: 4, fid: 1, offset: 0n, data: Buffer.from('fail now') }),
    ).toMatchObject({ type: 'Rerror', ename: 'bad # args to command: "fail now"' });
    const r = await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 100 });
    expect(r.type === 'Rread' && Buffer.from(r.data).toString()).toBe('commands: say fail\n');
  });
});

describe('directory reads', () => {
  it('9P2000: whole stat entries, one per read with a small count, offset rules, rewind, too-small count', async () => {
    await p.version();
    await p.attach(0);
    await walkOpen(['a'], 1, OREAD);
    const names: string[] = [];
    let off = 0n;
    for (;;) {
      const r = await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: off, count: 70 });
      if (r.type !== 'Rread') throw new Error(JSON.stringify(r));
      if (r.data.length === 0) break;
      const st = decodeStats(r.data, '9P2000');
      expect(st.length).toBe(1);
      names.push(st[0]!.name);
      off += BigInt(r.data.length);
    }
    expect(names).toEqual(['b', ...Array.from({ length: 30 }, (_, i) => `n${String(i).padStart(2, '0')}`)]);
    expect(await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 5n, count: 8000 })).toMatchObject({
      type: 'Rerror',
      ename: 'bad offset in directory read',
    });
    const again = await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 8000 });
    expect(again.type === 'Rread' && decodeStats(again.data, '9P2000').length).toBe(31);
    expect(isErr(await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 10 }))).toBe(true);
  });
  it('9P2000.u: .u stat entries in reads and Rstat, errno in Rerror', async () => {
    await p.version('9P2000.u');
    await p.attach(0);
    await walkOpen(['a'], 1, OREAD);
    const r = await p.rpc({ type: 'Tread', tag: 4, fid: 1, offset: 0n, count: 8000 });
    const st = r.type === 'Rread' ? decodeStats(r.data, '9P2000.u') : [];
    expect(st.length).toBe(31);
    expect(st[0]).toMatchObject({ name: 'b', extension: '', nUid: 0 });
    expect(await p.rpc({ type: 'Tstat', tag: 4, fid: 0 })).toMatchObject({
      stat: { name: '/', extension: '' },
    });
    expect(await p.rpc({ type: 'Twalk', tag: 4, fid: 0, newfid: 5, wnames: ['zz'] })).toEqual({
      type: 'Rerror',
      tag: 4,
      ename: 'file does not exist',
      errno: 2,
    });
  });
  it('9P2000.L: readdir cookies, restart at any cookie, Rlerror, getattr modes', async () => {
    await p.version('9P2000.L');
    await p.attach(0);
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a'] });
    expect(await p.rpc({ type: 'Treaddir', tag: 2, fid: 1, offset: 0n, count: 1000 })).toMatchObject({
      type: 'Rlerror',
      ecode: 9,
    });
    await p.rpc({ type: 'Tlopen', tag: 2, fid: 1, flags: 0o304000 });
    const r = await p.rpc({ type: 'Treaddir', tag: 2, fid: 1, offset: 0n, count: 100 });
    const first = r.type === 'Rreaddir' ? decodeDirents(r.data) : [];
    expect(first.map((d) => [d.name, d.offset, d.type])).toEqual([
      ['b', 1n, 4],
      ['n00', 2n, 8],
      ['n01', 3n, 8],
    ]);
    const r2 = await p.rpc({ type: 'Treaddir', tag: 2, fid: 1, offset: 2n, count: 100 });
    expect(r2.type === 'Rreaddir' && decodeDirents(r2.data)[0]!.name).toBe('n01');
    const end = await p.rpc({ type: 'Treaddir', tag: 2, fid: 1, offset: 999n, count: 100 });
    expect(end.type === 'Rreaddir' && end.data.length).toBe(0);
    const ga = await p.rpc({ type: 'Tgetattr', tag: 2, fid: 1, requestMask: 0x7ffn });
    expect(ga).toMatchObject({ type: 'Rgetattr', mode: 0o040755, nlink: 2n });
    expect(await p.rpc({ type: 'Tread', tag: 2, fid: 1, offset: 0n, count: 100 })).toMatchObject({
      type: 'Rlerror',
      ecode: 21,
    });
    expect(await p.rpc({ type: 'Tstat', tag: 2, fid: 1 })).toMatchObject({ type: 'Rlerror', ecode: 95 });
    expect(
      await p.rpc({ type: 'Txattrwalk', tag: 2, fid: 1, newfid: 7, name: 'security.capability' }),
    ).toMatchObject({ type: 'Rlerror', ecode: 61 });
  });
});

describe('.L file operations', () => {
  beforeEach(async () => {
    await p.version('9P2000.L');
    await p.attach(0);
  });
  it('lcreate, setattr truncation, mkdir, renameat, unlinkat, statfs, lock', async () => {
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: [] });
    expect(
      await p.rpc({ type: 'Tlcreate', tag: 2, fid: 1, name: 'new', flags: 0o100101, mode: 0o100640, gid: 0 }),
    ).toMatchObject({ type: 'Rlcreate' });
    await p.rpc({ type: 'Twrite', tag: 2, fid: 1, offset: 0n, data: Buffer.from('0123456789') });
    expect(await p.rpc({ type: 'Tgetattr', tag: 2, fid: 1, requestMask: 0x7ffn })).toMatchObject({
      mode: 0o100640,
      size: 10n,
      uid: 1000,
    });
    const trunc = {
      type: 'Tsetattr',
      tag: 2,
      fid: 1,
      valid: 0x68,
      mode: 0,
      uid: 0,
      gid: 0,
      size: 3n,
      atimeSec: 0n,
      atimeNsec: 0n,
      mtimeSec: 0n,
      mtimeNsec: 0n,
    } as const;
    expect((await p.rpc(trunc)).type).toBe('Rsetattr');
    expect((tree.root.children.get('new') as RamFile).data.toString()).toBe('012');
    expect(await p.rpc({ type: 'Tmkdir', tag: 2, dfid: 0, name: 'dir', mode: 0o750, gid: 0 })).toMatchObject({
      type: 'Rmkdir',
      qid: { type: QTDIR },
    });
    expect(await p.rpc({ type: 'Tmkdir', tag: 2, dfid: 0, name: 'dir', mode: 0o750, gid: 0 })).toMatchObject({
      ecode: 17,
    });
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 2, wnames: ['dir'] });
    expect(
      (
        await p.rpc({
          type: 'Trenameat',
          tag: 2,
          olddirfid: 0,
          oldname: 'new',
          newdirfid: 2,
          newname: 'moved',
        })
      ).type,
    ).toBe('Rrenameat');
    expect((tree.root.children.get('dir') as RamDir).children.has('moved')).toBe(true);
    expect(await p.rpc({ type: 'Tunlinkat', tag: 2, dirfid: 0, name: 'dir', flags: 0x200 })).toMatchObject({
      ecode: 39,
    });
    expect(await p.rpc({ type: 'Tunlinkat', tag: 2, dirfid: 2, name: 'moved', flags: 0x200 })).toMatchObject({
      ecode: 20,
    });
    expect((await p.rpc({ type: 'Tunlinkat', tag: 2, dirfid: 2, name: 'moved', flags: 0 })).type).toBe(
      'Runlinkat',
    );
    expect((await p.rpc({ type: 'Tunlinkat', tag: 2, dirfid: 0, name: 'dir', flags: 0x200 })).type).toBe(
      'Runlinkat',
    );
    expect(await p.rpc({ type: 'Tstatfs', tag: 2, fid: 0 })).toMatchObject({
      type: 'Rstatfs',
      fsType: 0x01021997,
      namelen: 255,
    });
    expect(
      await p.rpc({
        type: 'Tlock',
        tag: 2,
        fid: 0,
        lockType: 1,
        flags: 0,
        start: 0n,
        length: 0n,
        procId: 1,
        clientId: 'x',
      }),
    ).toMatchObject({ status: 0 });
  });
});

describe('flush', () => {
  beforeEach(async () => {
    await p.version();
    await p.attach(0);
    await walkOpen(['events'], 1, OREAD);
  });
  it('a blocked read never stalls other requests; Tflush interrupts it: Rflush and no reply for the old tag', async () => {
    p.send({ type: 'Tread', tag: 40, fid: 1, offset: 0n, count: 100 });
    await tick();
    expect(tree.events.blockedReaders).toBe(1);
    // other requests on the same connection go on
    expect((await p.rpc({ type: 'Tstat', tag: 41, fid: 0 })).type).toBe('Rstat');
    expect(await p.rpc({ type: 'Tflush', tag: 42, oldtag: 40 })).toEqual({ type: 'Rflush', tag: 42 });
    expect(tree.events.blockedReaders).toBe(0);
    await tick(50);
    expect(p.unclaimed.filter((r) => r.tag === 40)).toEqual([]);
    expect(p.conn.pending.size).toBe(0);
    // the tag is reusable and the file still works
    p.send({ type: 'Tread', tag: 40, fid: 1, offset: 0n, count: 3 });
    await tick();
    tree.events.post('event-1');
    expect(await p.reply(40)).toMatchObject({ type: 'Rread', data: Buffer.from('eve') });
  });
  it('flush of an unknown tag, of a completed tag and of itself: Rflush at once', async () => {
    expect(await p.rpc({ type: 'Tflush', tag: 50, oldtag: 77 })).toEqual({ type: 'Rflush', tag: 50 });
    await p.rpc({ type: 'Tstat', tag: 51, fid: 0 });
    expect(await p.rpc({ type: 'Tflush', tag: 52, oldtag: 51 })).toEqual({ type: 'Rflush', tag: 52 });
    expect(await p.rpc({ type: 'Tflush', tag: 53, oldtag: 53 })).toEqual({ type: 'Rflush', tag: 53 });
  });
  it('double flush: both answered, in order', async () => {
    p.send({ type: 'Tread', tag: 60, fid: 1, offset: 0n, count: 100 });
    await tick();
    p.send({ type: 'Tflush', tag: 61, oldtag: 60 });
    p.send({ type: 'Tflush', tag: 62, oldtag: 60 });
    expect(await p.reply(61)).toEqual({ type: 'Rflush', tag: 61 });
    expect(await p.reply(62)).toEqual({ type: 'Rflush', tag: 62 });
  });
  it('a handler that ignores its signal still gets Rflush after the grace period, and its late reply is dropped', async () => {
    let release: (v: Uint8Array) => void = () => {};
    class Stubborn extends File {
      override read() {
        return new Promise<Uint8Array>((r) => (release = r));
      }
    }
    tree.root.add(new Stubborn('stubborn', 0o444, 'glenda'));
    await walkOpen(['stubborn'], 2, OREAD);
    p.send({ type: 'Tread', tag: 70, fid: 2, offset: 0n, count: 10 });
    await tick();
    expect(await p.rpc({ type: 'Tflush', tag: 71, oldtag: 70 })).toEqual({ type: 'Rflush', tag: 71 });
    release(Buffer.from('late'));
    await tick(30);
    expect(p.unclaimed.filter((r) => r.tag === 70)).toEqual([]);
  });
  it('a duplicate tag gets an error and leaves the original alone', async () => {
    p.send({ type: 'Tread', tag: 80, fid: 1, offset: 0n, count: 100 });
    await tick();
    expect(await p.rpc({ type: 'Tstat', tag: 80, fid: 0 })).toMatchObject({
      type: 'Rerror',
      ename: 'duplicate tag',
    });
    tree.events.post('x');
    expect(await p.reply(80)).toMatchObject({ type: 'Rread' });
  });
});

describe('clunk, remove, stat, wstat', () => {
  beforeEach(async () => {
    await p.version();
    await p.attach(0);
  });
  it('clunk of an unknown fid errors; a fid is reusable right after Rclunk; remove clunks even on failure', async () => {
    expect(isErr(await p.rpc({ type: 'Tclunk', tag: 2, fid: 99 }))).toBe(true);
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a'] });
    await p.rpc({ type: 'Tclunk', tag: 2, fid: 1 });
    expect((await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a'] })).type).toBe('Rwalk');
    expect(await p.rpc({ type: 'Tremove', tag: 2, fid: 1 })).toMatchObject({
      type: 'Rerror',
      ename: 'directory is not empty',
    });
    expect(p.conn.fids.has(1)).toBe(false);
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a', 'b', 'f'] });
    expect((await p.rpc({ type: 'Tremove', tag: 2, fid: 1 })).type).toBe('Rremove');
  });
  it("wstat: rename, truncate, mode, all-don't-touch sync; uid change refused", async () => {
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a', 'b', 'f'] });
    expect((await p.rpc({ type: 'Twstat', tag: 2, fid: 1, stat: dontTouch() })).type).toBe('Rwstat');
    expect(
      (await p.rpc({ type: 'Twstat', tag: 2, fid: 1, stat: { ...dontTouch(), length: 5n, mtime: 1234 } }))
        .type,
    ).toBe('Rwstat');
    expect(
      (await p.rpc({ type: 'Twstat', tag: 2, fid: 1, stat: { ...dontTouch(), name: 'g', mode: 0o600 } }))
        .type,
    ).toBe('Rwstat');
    const st = await p.rpc({ type: 'Tstat', tag: 2, fid: 1 });
    expect(st).toMatchObject({ stat: { name: 'g', length: 5n, mode: 0o600, mtime: 1234 } });
    expect(isErr(await p.rpc({ type: 'Twstat', tag: 2, fid: 1, stat: { ...dontTouch(), uid: 'bob' } }))).toBe(
      true,
    );
    expect(
      isErr(await p.rpc({ type: 'Twstat', tag: 2, fid: 1, stat: { ...dontTouch(), mode: DMDIR | 0o755 } })),
    ).toBe(true);
  });
  it('create: a new file, open; an existing name, . and .. are errors', async () => {
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['a'] });
    expect(
      await p.rpc({ type: 'Tcreate', tag: 2, fid: 1, name: 'c', perm: 0o640, mode: ORDWR }),
    ).toMatchObject({ type: 'Rcreate', qid: { type: 0 } });
    expect((await p.rpc({ type: 'Twrite', tag: 2, fid: 1, offset: 0n, data: Buffer.from('x') })).type).toBe(
      'Rwrite',
    );
    for (const name of ['c', '.', '..', 'a/b']) {
      await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 2, wnames: ['a'] });
      expect(isErr(await p.rpc({ type: 'Tcreate', tag: 2, fid: 2, name, perm: 0o640, mode: OREAD }))).toBe(
        true,
      );
      await p.rpc({ type: 'Tclunk', tag: 2, fid: 2 });
    }
    await p.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 3, wnames: ['a'] });
    expect(
      await p.rpc({ type: 'Tcreate', tag: 2, fid: 3, name: 'sub', perm: DMDIR | 0o755, mode: OREAD }),
    ).toMatchObject({ qid: { type: QTDIR } });
  });
});

describe('limits and cleanup', () => {
  it('caps outstanding requests per connection (Tflush exempt)', async () => {
    const small = new NinepServer({ root: tree.root, maxOutstanding: 2 });
    const q = new RawPeer(small);
    await q.version();
    await q.attach(0);
    await q.rpc({ type: 'Twalk', tag: 2, fid: 0, newfid: 1, wnames: ['events'] });
    await q.rpc({ type: 'Topen', tag: 2, fid: 1, mode: OREAD });
    q.send({ type: 'Tread', tag: 10, fid: 1, offset: 0n, count: 1 });
    q.send({ type: 'Tread', tag: 11, fid: 1, offset: 0n, count: 1 });
    expect(await q.rpc({ type: 'Tstat', tag: 12, fid: 0 })).toMatchObject({
      type: 'Rerror',
      ename: 'too many outstanding requests',
    });
    expect(await q.rpc({ type: 'Tflush', tag: 13, oldtag: 10 })).toEqual({ type: 'Rflush', tag: 13 });
  });
  it('a dropped connection aborts blocked reads and clunks every fid (ORCLOSE included)', async () => {
    await p.version();
    await p.attach(0);
    await walkOpen(['events'], 1, OREAD);
    p.send({ type: 'Tread', tag: 20, fid: 1, offset: 0n, count: 10 });
    await walkOpen(['a', 'b', 'f'], 2, OREAD | ORCLOSE);
    await tick();
    expect(tree.events.blockedReaders).toBe(1);
    p.toServer.end();
    await tick(20);
    expect(p.closed).toBe(true);
    expect(tree.events.blockedReaders).toBe(0);
    expect(p.conn.fids.size).toBe(0);
    expect(p.conn.pending.size).toBe(0);
    expect(((tree.root.children.get('a') as RamDir).children.get('b') as RamDir).children.has('f')).toBe(
      false,
    );
    expect(server.connections.size).toBe(0);
  });
});
