/**
 * hgfs/ (docs/protocol/tree.md §17) over 9P in each dialect, with ninep's client, against vmx-sim
 * serving real temporary directories as shares: every file operation checked on the host
 * directory too, qids, iounit, a 5 MB round trip, the attribute cache (on an injected clock),
 * what `ls -l` costs the host, owners and masks, a read-only share, `..` staying inside the tree,
 * hostile replies failing one request only, and many clients at once.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackdoorPort } from '@vmw9/backdoor';
import {
  decodeRequest,
  emptyAttr,
  encodeReply,
  HGFS_LARGE_PACKET_MAX,
  HgfsAttrHint,
  HgfsAttrValid,
  HgfsClient,
  HgfsOp,
  type HgfsSend,
} from '@vmw9/hgfs';
import { hgfsSender, RpciClient, RpciPool } from '@vmw9/rpc';
import { SimBackdoorPort, SocketBackdoorPort, serveHost, VmxHost } from '@vmw9/vmx-sim';
import { type Dialect, DMDIR, DMSYMLINK, errnoForText, IOHDRSZ, NinepClient, RemoteError } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildVmwareTree,
  type HgfsTreeOptions,
  type ServedTree,
  serveVmwareTree,
  TREE_MSIZE,
} from '../src/index.js';

const DIALECTS: Dialect[] = ['9P2000', '9P2000.u', '9P2000.L'];

/** Replaces the reply to the next request that `match` picks (hostile-host tests). */
interface Tamper {
  /** Stays for every matching request (else it replaces one reply and goes). */
  keep?: boolean;
  match: (op: number, packet: Uint8Array) => boolean;
  reply: (packet: Uint8Array, real: Uint8Array) => Uint8Array;
}

/** Holds the next request that `match` picks until `until` settles, before it is sent. */
interface Hold {
  match: (op: number) => boolean;
  /** Hold its reply (the host has answered) rather than the request. */
  reply?: boolean;
  /** Resolved when the held request reaches the sender. */
  reached: () => void;
  until: Promise<void>;
}

interface Setup {
  host: VmxHost;
  share: string;
  ro: string;
  served: ServedTree;
  pool: RpciPool;
  clock: { t: number };
  tampers: Tamper[];
  holds: Hold[];
  connect(version: Dialect): Promise<NinepClient>;
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * A tree with hgfs/ over a simulated host sharing two fresh directories (`docs`, and `ro`
 * read-only). In process by default; `socket`: the host in a vmx-sim server reached over its
 * socket, so backdoor calls really wait and several HGFS requests can be in flight at once.
 */
async function setup(opts: Partial<HgfsTreeOptions> = {}, where: { socket?: boolean } = {}): Promise<Setup> {
  const base = mkdtempSync(join(tmpdir(), 'vmw9-hgfs-'));
  const share = join(base, 'docs');
  const ro = join(base, 'ro');
  mkdirSync(share);
  mkdirSync(ro);
  writeFileSync(join(ro, 'readme'), 'read only\n');
  const host = new VmxHost({
    hgfs: {
      shares: [
        { name: 'docs', dir: share, readOnly: false },
        { name: 'ro', dir: ro, readOnly: true },
      ],
    },
  });
  let port: BackdoorPort = new SimBackdoorPort(host);
  if (where.socket) {
    const sim = await serveHost(host, join(base, 'sim.sock'));
    const sp = await SocketBackdoorPort.connect(`unix!${join(base, 'sim.sock')}`);
    port = sp;
    cleanups.push(async () => {
      await sp.close();
      await sim.close();
    });
  }
  const pool = RpciPool.overPort(port, { channels: 4, maxSend: 2 + HGFS_LARGE_PACKET_MAX });
  const tampers: Tamper[] = [];
  const holds: Hold[] = [];
  const real = hgfsSender(pool);
  const send: HgfsSend = async (packet, signal) => {
    const op = packet.length >= 24 ? Buffer.from(packet).readUInt32LE(20) : -1;
    const h = holds.findIndex((x) => x.match(op));
    const hold = h >= 0 ? holds.splice(h, 1)[0] : undefined;
    if (hold && !hold.reply) {
      hold.reached();
      await hold.until;
    }
    const t = tampers.findIndex((x) => x.match(op, packet));
    const reply = await real(packet, signal);
    if (hold?.reply) {
      hold.reached();
      await hold.until;
    }
    if (t < 0) return reply;
    const tamper = tampers[t]!;
    if (!tamper.keep) tampers.splice(t, 1);
    return tamper.reply(packet, reply);
  };
  const clock = { t: 1_000_000 };
  const client = new HgfsClient({ send, maxPacketSize: HGFS_LARGE_PACKET_MAX });
  const tree = buildVmwareTree({
    port,
    rpc: RpciClient.overPort(port),
    transport: 'sim (test)',
    hgfs: { client, now: () => clock.t, ...opts },
  });
  const path = join(base, 'fs.sock');
  const served = await serveVmwareTree(tree, { listen: `unix!${path}` });
  cleanups.push(async () => {
    await served.close();
    await pool.close();
  });
  return {
    host,
    share,
    ro,
    served,
    pool,
    clock,
    tampers,
    holds,
    async connect(version) {
      const c = await NinepClient.connect(`unix!${path}`, { version });
      cleanups.push(() => c.close());
      return c;
    },
  };
}

/** The errno a request failed with: .L/.u carry it; 9P2000 only has the text (its first words). */
async function errnoOf(p: Promise<unknown>): Promise<number> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof RemoteError)) throw new Error(`expected a 9P error, got ${String(e)}`);
  return e.errno || errnoForText(e.ename.replace(/ \(.*$/s, ''));
}
const sum = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.each(DIALECTS)('hgfs/ over %s', (version) => {
  it('lists the shares, and `..` from a share and from hgfs/ stays inside the tree', async () => {
    const s = await setup();
    const c = await s.connect(version);
    expect((await c.readdir('hgfs')).map((e) => e.name).sort()).toEqual(['docs', 'ro']);
    const root = (await c.stat('')).qid.path;
    const hgfs = (await c.stat('hgfs')).qid.path;
    expect((await c.stat('hgfs/docs/..')).qid.path).toBe(hgfs);
    expect((await c.stat('hgfs/..')).qid.path).toBe(root);
    expect((await c.stat('hgfs/docs/../../../..')).qid.path).toBe(root);
    expect(await errnoOf(c.stat('hgfs/nosuchshare'))).toBe(2);
    // Shares are the host's to add and remove.
    expect(await errnoOf(c.mkdir('hgfs/newshare'))).toBe(1);
    expect(await errnoOf(c.remove('hgfs/docs'))).toBe(1);
    // A share added on the host is there at the next listing.
    const more = mkdtempSync(join(tmpdir(), 'vmw9-hgfs-more-'));
    s.host.hgfs.shares.add('more', more);
    expect((await c.readdir('hgfs')).map((e) => e.name).sort()).toEqual(['docs', 'more', 'ro']);
  });

  it('creates, writes, reads back, appends, truncates, stats, renames, removes; every step on the host', async () => {
    const s = await setup();
    const c = await s.connect(version);
    await c.writeFile('hgfs/docs/a.txt', Buffer.from('hello'));
    expect(readFileSync(join(s.share, 'a.txt'), 'utf8')).toBe('hello');
    expect((await c.readFile('hgfs/docs/a.txt')).toString()).toBe('hello');
    // Append: a write at the end.
    const fid = await c.walk('hgfs/docs/a.txt');
    await c.open(fid, 'rw');
    await c.write(fid, 5, Buffer.from(', world'));
    await c.clunk(fid);
    expect(readFileSync(join(s.share, 'a.txt'), 'utf8')).toBe('hello, world');
    let st = await c.stat('hgfs/docs/a.txt');
    expect(st.length).toBe(12);
    expect(st.mode & 0o777).toBe(statSync(join(s.share, 'a.txt')).mode & 0o777);
    expect(st.mtime).toBe(Math.floor(statSync(join(s.share, 'a.txt')).mtimeMs / 1000));
    // Truncate.
    const t = await c.walk('hgfs/docs/a.txt');
    await c.truncateFid(t, 5);
    await c.clunk(t);
    expect(readFileSync(join(s.share, 'a.txt'), 'utf8')).toBe('hello');
    expect((await c.stat('hgfs/docs/a.txt')).length).toBe(5);
    // Rewrite (open with truncation).
    await c.writeFile('hgfs/docs/a.txt', Buffer.from('x'));
    expect(readFileSync(join(s.share, 'a.txt'), 'utf8')).toBe('x');
    // Directories.
    await c.mkdir('hgfs/docs/sub', 0o750);
    expect(statSync(join(s.share, 'sub')).isDirectory()).toBe(true);
    expect(statSync(join(s.share, 'sub')).mode & 0o777).toBe(0o750);
    st = await c.stat('hgfs/docs/sub');
    expect(st.mode & DMDIR).toBeTruthy();
    await c.writeFile('hgfs/docs/sub/inner', Buffer.from('in'));
    expect(await errnoOf(c.remove('hgfs/docs/sub'))).toBe(39);
    expect(await errnoOf(c.mkdir('hgfs/docs/sub'))).toBe(17);
    expect(await errnoOf(c.create('hgfs/docs/a.txt'))).toBe(17);
    const file = await c.walk('hgfs/docs/a.txt');
    expect(await errnoOf(c.walk(['x'], file))).toBe(20);
    await c.clunk(file);
    // Rename (9P2000 and .u rename within a directory).
    await c.rename('hgfs/docs/a.txt', 'hgfs/docs/b.txt');
    expect(existsSync(join(s.share, 'a.txt'))).toBe(false);
    expect(readFileSync(join(s.share, 'b.txt'), 'utf8')).toBe('x');
    if (version === '9P2000.L') {
      await c.rename('hgfs/docs/b.txt', 'hgfs/docs/sub/c.txt');
      expect(readFileSync(join(s.share, 'sub', 'c.txt'), 'utf8')).toBe('x');
      await c.remove('hgfs/docs/sub/c.txt');
    } else await c.remove('hgfs/docs/b.txt');
    await c.remove('hgfs/docs/sub/inner');
    await c.remove('hgfs/docs/sub');
    expect(existsSync(join(s.share, 'sub'))).toBe(false);
    expect(await errnoOf(c.stat('hgfs/docs/sub'))).toBe(2);
    // Every handle was closed at its clunk.
    expect(s.host.hgfs.state().openFiles).toBe(0);
  });

  it('keeps qids stable across walks and renames, distinct between shares, and grants iounit msize − 24', async () => {
    const s = await setup();
    writeFileSync(join(s.share, 'f'), 'x');
    const c = await s.connect(version);
    const q1 = (await c.stat('hgfs/docs/f')).qid.path;
    const q2 = (await c.stat('hgfs/docs/f')).qid.path;
    expect(q2).toBe(q1);
    expect(q1).not.toBe((await c.stat('hgfs/docs')).qid.path);
    await c.rename('hgfs/docs/f', 'hgfs/docs/g');
    expect((await c.stat('hgfs/docs/g')).qid.path).toBe(q1);
    // The same inode through two shares: two files to the client.
    s.host.hgfs.shares.add('again', s.share);
    expect((await c.stat('hgfs/again/g')).qid.path).not.toBe(q1);
    const fid = await c.walk('hgfs/docs/g');
    expect((await c.open(fid, 'r')).iounit).toBe(c.msize - IOHDRSZ);
    expect(c.msize).toBe(TREE_MSIZE);
    await c.clunk(fid);
  });

  it('moves 5 MB each way with equal checksums', async () => {
    const s = await setup();
    const c = await s.connect(version);
    const data = Buffer.alloc(5 * 1024 * 1024 + 123);
    for (let i = 0; i + 4 <= data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    await c.writeFile('hgfs/docs/big', data);
    expect(sum(readFileSync(join(s.share, 'big')))).toBe(sum(data));
    const before = s.host.hgfs.counts().READ_V3 ?? 0;
    expect(sum(await c.readFile('hgfs/docs/big'))).toBe(sum(data));
    // Read ahead in whole packets: 11 READs of ~510 KiB for 21 reads of 256 KiB (and one ahead).
    const reads = (s.host.hgfs.counts().READ_V3 ?? 0) - before;
    expect(reads).toBeLessThanOrEqual(Math.ceil(data.length / (522240 - 52 - 13)) + 1);
    expect((await c.stat('hgfs/docs/big')).length).toBe(data.length);
  });

  it('read ahead is dropped by our own writes, and a host change shows once its lifetime is over', async () => {
    const s = await setup({ attrCacheMs: 1000 });
    writeFileSync(join(s.share, 'ra'), Buffer.alloc(300_000, 0x61));
    const c = await s.connect(version);
    const fid = await c.walk('hgfs/docs/ra');
    await c.open(fid, 'rw');
    expect(Buffer.from(await c.read(fid, 0, 4)).toString()).toBe('aaaa');
    await c.write(fid, 1, Buffer.from('XY'));
    expect(Buffer.from(await c.read(fid, 0, 4)).toString()).toBe('aXYa');
    writeFileSync(join(s.share, 'ra'), Buffer.alloc(300_000, 0x62));
    expect(Buffer.from(await c.read(fid, 0, 4)).toString()).toBe('aXYa');
    s.clock.t += 1001;
    expect(Buffer.from(await c.read(fid, 0, 4)).toString()).toBe('bbbb');
    await c.clunk(fid);
  });

  it('a read-only share reads but refuses every change (EROFS)', async () => {
    const s = await setup();
    const c = await s.connect(version);
    expect((await c.readFile('hgfs/ro/readme')).toString()).toBe('read only\n');
    expect((await c.stat('hgfs/ro/readme')).mode & 0o222).toBe(0);
    expect(await errnoOf(c.writeFile('hgfs/ro/new', Buffer.from('x')))).toBe(30);
    expect(await errnoOf(c.writeFile('hgfs/ro/readme', Buffer.from('x')))).toBe(30);
    expect(await errnoOf(c.mkdir('hgfs/ro/d'))).toBe(30);
    expect(await errnoOf(c.remove('hgfs/ro/readme'))).toBe(30);
    expect(readFileSync(join(s.ro, 'readme'), 'utf8')).toBe('read only\n');
    expect(existsSync(join(s.ro, 'new'))).toBe(false);
  });
});

describe.each(['9P2000.u', '9P2000.L'] as const)('symlinks over %s', (version) => {
  it('ln -s and readlink give the exact target, made and read on the host', async () => {
    const s = await setup();
    const c = await s.connect(version);
    const target = `../odd target/ünï\u00a0code/${'t'.repeat(1500)}`;
    await c.symlink('hgfs/docs/link', target);
    expect(readlinkSync(join(s.share, 'link'))).toBe(target);
    expect(await c.readlink('hgfs/docs/link')).toBe(target);
    symlinkSync('/outside/the/share', join(s.share, 'hostmade'));
    expect(await c.readlink('hgfs/docs/hostmade')).toBe('/outside/the/share');
    const st = await c.stat('hgfs/docs/hostmade');
    expect(st.mode & DMSYMLINK).toBeTruthy();
    expect(st.length).toBe('/outside/the/share'.length);
    // Listed with the rest (from the listing's attributes), then read.
    const names = (await c.readdir('hgfs/docs')).map((e) => e.name).sort();
    expect(names).toEqual(['hostmade', 'link']);
    expect(await c.readlink('hgfs/docs/link')).toBe(target);
    await c.remove('hgfs/docs/link');
    expect(existsSync(join(s.share, 'link'))).toBe(false);
    expect(lstatSync(join(s.share, 'hostmade')).isSymbolicLink()).toBe(true);
  });
});

describe('symlinks over 9P2000', () => {
  it('a host symlink is a file whose contents are its target', async () => {
    const s = await setup();
    symlinkSync('some/where', join(s.share, 'l'));
    const c = await s.connect('9P2000');
    const st = await c.stat('hgfs/docs/l');
    expect(st.mode & DMSYMLINK).toBe(0);
    expect((await c.readFile('hgfs/docs/l')).toString()).toBe('some/where');
  });
});

describe('the attribute cache', () => {
  it('an `ls -l` of N files costs one listing and no request per file (.L: readdir, then walk + getattr each)', async () => {
    const s = await setup();
    const N = 200;
    for (let i = 0; i < N; i++) writeFileSync(join(s.share, `f${i}`), 'x'.repeat(i));
    const c = await s.connect('9P2000.L');
    await c.stat('hgfs/docs');
    const before = s.host.hgfs.counts();
    const list = await c.readdir('hgfs/docs');
    const after = s.host.hgfs.counts();
    const delta = (op: string) => (after[op] ?? 0) - (before[op] ?? 0);
    expect(list.length).toBe(N);
    expect(list.find((e) => e.name === 'f7')?.length).toBe(7);
    expect(delta('GETATTR_V3')).toBe(0);
    expect(delta('SEARCH_OPEN_V3')).toBe(1);
    const total = Object.keys(after).reduce((n, op) => n + delta(op), 0);
    // One search: open, its reads (one entry each on this host, as open-vm-tools answers), close.
    expect(total).toBe(delta('SEARCH_OPEN_V3') + delta('SEARCH_READ_V3') + delta('SEARCH_CLOSE_V3'));
  });

  it('answers from the cache within its lifetime, asks again after it, and drops what our own writes change', async () => {
    const s = await setup({ attrCacheMs: 1000 });
    writeFileSync(join(s.share, 'f'), 'abc');
    const c = await s.connect('9P2000.L');
    expect((await c.stat('hgfs/docs/f')).length).toBe(3);
    writeFileSync(join(s.share, 'f'), 'abcdef');
    expect((await c.stat('hgfs/docs/f')).length).toBe(3);
    s.clock.t += 1001;
    expect((await c.stat('hgfs/docs/f')).length).toBe(6);
    await c.writeFile('hgfs/docs/f', Buffer.from('12345678'));
    expect((await c.stat('hgfs/docs/f')).length).toBe(8);
    // A file removed on the host is gone once the answer ages out.
    writeFileSync(join(s.share, 'g'), '');
    expect((await c.stat('hgfs/docs/g')).length).toBe(0);
    (await import('node:fs')).unlinkSync(join(s.share, 'g'));
    s.clock.t += 1001;
    expect(await errnoOf(c.stat('hgfs/docs/g'))).toBe(2);
  });

  it('with a lifetime of 0 asks the host every time', async () => {
    const s = await setup({ attrCacheMs: 0 });
    writeFileSync(join(s.share, 'f'), 'abc');
    const c = await s.connect('9P2000.L');
    expect((await c.stat('hgfs/docs/f')).length).toBe(3);
    writeFileSync(join(s.share, 'f'), 'abcdef');
    expect((await c.stat('hgfs/docs/f')).length).toBe(6);
  });
});

describe('owners, masks, attributes', () => {
  it('shows the configured uid/gid and takes dmask/fmask away', async () => {
    const s = await setup({ uid: 1234, gid: 99, dmask: 0o077, fmask: 0o137 });
    writeFileSync(join(s.share, 'f'), 'x', { mode: 0o666 });
    (await import('node:fs')).chmodSync(join(s.share, 'f'), 0o666);
    mkdirSync(join(s.share, 'd'), { mode: 0o777 });
    (await import('node:fs')).chmodSync(join(s.share, 'd'), 0o777);
    const c = await s.connect('9P2000.L');
    const f = await c.stat('hgfs/docs/f');
    expect(f).toMatchObject({ nUid: 1234, nGid: 99 });
    expect(f.mode & 0o777).toBe(0o640);
    expect((await c.stat('hgfs/docs/d')).mode & 0o777).toBe(0o700);
    const u = await s.connect('9P2000.u');
    expect(await u.stat('hgfs/docs/f')).toMatchObject({ uid: '1234', gid: '99', nUid: 1234 });
  });

  it('the host ids by default; chmod and utimes reach the host; chown to another owner is refused', async () => {
    const s = await setup();
    writeFileSync(join(s.share, 'f'), 'x');
    const c = await s.connect('9P2000.L');
    const st = await c.stat('hgfs/docs/f');
    expect(st.nUid).toBe(statSync(join(s.share, 'f')).uid);
    const fid = await c.walk('hgfs/docs/f');
    const setattr = (valid: number, extra: object) =>
      c.rpc({
        type: 'Tsetattr',
        fid,
        valid,
        mode: 0,
        uid: 0,
        gid: 0,
        size: 0n,
        atimeSec: 0n,
        atimeNsec: 0n,
        mtimeSec: 0n,
        mtimeNsec: 0n,
        ...extra,
      });
    await setattr(0x1, { mode: 0o600 });
    expect(statSync(join(s.share, 'f')).mode & 0o777).toBe(0o600);
    await setattr(0x10 | 0x20 | 0x80 | 0x100, { atimeSec: 1_000_000_000n, mtimeSec: 1_200_000_000n });
    expect(Math.floor(statSync(join(s.share, 'f')).mtimeMs / 1000)).toBe(1_200_000_000);
    expect((await c.stat('hgfs/docs/f')).mtime).toBe(1_200_000_000);
    await expect(setattr(0x2, { uid: st.nUid! + 1 })).rejects.toMatchObject({ errno: 1 });
    await setattr(0x2, { uid: st.nUid! });
    await c.clunk(fid);
    utimesSync(join(s.share, 'f'), 5, 5);
  });

  it('statfs on a share gives its volume', async () => {
    const s = await setup();
    const c = await s.connect('9P2000.L');
    const fid = await c.walk('hgfs/docs');
    const r = await c.rpc({ type: 'Tstatfs', fid });
    expect(r.bsize).toBe(4096);
    expect(r.blocks).toBeGreaterThan(0n);
    expect(r.bfree).toBeLessThanOrEqual(r.blocks);
    await c.clunk(fid);
  });
});

describe('open files', () => {
  it('contiguous writes in flight together reach the host as fewer WRITEs, each answered once written', async () => {
    const s = await setup();
    const c = await s.connect('9P2000.L');
    const fid = await c.walk('hgfs/docs');
    await c.createIn(fid, 'gathered', 0o644, 'w');
    const piece = 65536; // several fit one packet
    const data = Buffer.alloc(piece * 8);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    const before = s.host.hgfs.counts().WRITE_V3 ?? 0;
    const counts = await Promise.all(
      Array.from({ length: 8 }, (_, i) => c.write(fid, i * piece, data.subarray(i * piece, (i + 1) * piece))),
    );
    expect(counts).toEqual(Array(8).fill(piece));
    const writes = (s.host.hgfs.counts().WRITE_V3 ?? 0) - before;
    expect(writes).toBeLessThan(8);
    await c.clunk(fid);
    expect(readFileSync(join(s.share, 'gathered')).equals(data)).toBe(true);
  });

  it('keeps at most maxOpenFiles host files open; past it an open fails EMFILE and asks nothing', async () => {
    const s = await setup({ maxOpenFiles: 2 });
    for (const n of ['a', 'b', 'c']) writeFileSync(join(s.share, n), n);
    const c = await s.connect('9P2000.L');
    const fa = await c.walk('hgfs/docs/a');
    await c.open(fa, 'r');
    const fb = await c.walk('hgfs/docs/b');
    await c.open(fb, 'r');
    const fc = await c.walk('hgfs/docs/c');
    const opens = s.host.hgfs.counts().OPEN_V3 ?? 0;
    expect(await errnoOf(c.open(fc, 'r'))).toBe(24);
    expect(await errnoOf(c.create('hgfs/docs/d'))).toBe(24);
    expect(s.host.hgfs.counts().OPEN_V3 ?? 0).toBe(opens);
    expect(s.host.hgfs.state().openFiles).toBe(2);
    await c.clunk(fa);
    await c.open(fc, 'r');
    expect(Buffer.from(await c.read(fc, 0, 10)).toString()).toBe('c');
    await c.clunk(fb);
    await c.clunk(fc);
    expect(s.host.hgfs.state().openFiles).toBe(0);
  });

  it('an open fid keeps reading and answering stat after its file is removed through the tree', async () => {
    const s = await setup();
    writeFileSync(join(s.share, 'f'), 'still here');
    const c = await s.connect('9P2000.L');
    const fid = await c.walk('hgfs/docs/f');
    await c.open(fid, 'r');
    await c.remove('hgfs/docs/f');
    expect(existsSync(join(s.share, 'f'))).toBe(false);
    expect((await c.statFid(fid)).length).toBe(10);
    expect(Buffer.from(await c.read(fid, 0, 100)).toString()).toBe('still here');
    await c.clunk(fid);
    expect(await errnoOf(c.stat('hgfs/docs/f'))).toBe(2);
  });

  it('an open fid truncates its file by its handle, after the file was removed or renamed', async () => {
    const s = await setup({ attrCacheMs: 0 });
    writeFileSync(join(s.share, 'f'), '0123456789');
    const c = await s.connect('9P2000.L');
    const fid = await c.walk('hgfs/docs/f');
    await c.open(fid, 'rw');
    (await import('node:fs')).renameSync(join(s.share, 'f'), join(s.share, 'moved'));
    await c.truncateFid(fid, 4);
    expect(readFileSync(join(s.share, 'moved'), 'utf8')).toBe('0123');
    await c.remove('hgfs/docs/moved');
    await c.truncateFid(fid, 2);
    expect(Buffer.from(await c.read(fid, 0, 100)).toString()).toBe('01');
    await c.clunk(fid);
    expect(s.host.hgfs.state().openFiles).toBe(0);
    // A fid open for reading truncates by path (its handle could not).
    writeFileSync(join(s.share, 'r'), '0123456789');
    const rfid = await c.walk('hgfs/docs/r');
    await c.open(rfid, 'r', true);
    expect(readFileSync(join(s.share, 'r'), 'utf8')).toBe('');
    await c.clunk(rfid);
  });

  it('after the host forgets every session (a VM reset), an open fid reopens its file and carries on', async () => {
    const s = await setup();
    writeFileSync(join(s.share, 'f'), '0123456789');
    const c = await s.connect('9P2000.u');
    const fid = await c.walk('hgfs/docs/f');
    await c.open(fid, 'rw');
    expect(Buffer.from(await c.read(fid, 0, 4)).toString()).toBe('0123');
    s.host.hgfs.reset();
    expect(Buffer.from(await c.read(fid, 4, 4)).toString()).toBe('4567');
    await c.write(fid, 10, Buffer.from('AB'));
    await c.clunk(fid);
    expect(readFileSync(join(s.share, 'f'), 'utf8')).toBe('0123456789AB');
    expect(s.host.hgfs.counts().CREATE_SESSION_V4).toBe(2);
    expect(s.host.hgfs.state().openFiles).toBe(0);
  });
});

describe('a hostile 9P client', () => {
  /** Holds the next request of `op`; resolves `reached` when it gets there, sends it at `release()`. */
  function hold(s: Setup, op: number, reply = false) {
    let release!: () => void;
    let reached!: () => void;
    const until = new Promise<void>((r) => {
      release = r;
    });
    const at = new Promise<void>((r) => {
      reached = r;
    });
    s.holds.push({ match: (o) => o === op, reply, reached, until });
    return { at, release };
  }

  it("a walk to a name holding '/' finds nothing and hides nothing from other walks", async () => {
    const s = await setup();
    mkdirSync(join(s.share, 'a'));
    writeFileSync(join(s.share, 'a', 'b'), 'here');
    const c = await s.connect('9P2000.L');
    expect(await errnoOf(c.walk(['hgfs', 'docs', 'a/b']))).toBe(2);
    expect((await c.readFile('hgfs/docs/a/b')).toString()).toBe('here');
  });

  it('an answer asked before our own write is not cached after it (stat after the write shows the write)', async () => {
    const s = await setup({ attrCacheMs: 1000 });
    writeFileSync(join(s.share, 'f'), '0123456789');
    const c = await s.connect('9P2000.L');
    const fid = await c.walk('hgfs/docs/f');
    await c.open(fid, 'rw');
    s.clock.t += 1001; // nothing cached…
    await c.stat('hgfs/docs'); // …but the share: the next GETATTR_V3 is the file's
    const h = hold(s, HgfsOp.GETATTR_V3, true);
    const looking = c.stat('hgfs/docs/f');
    await h.at;
    await c.write(fid, 10, Buffer.from('ABCDE'));
    h.release();
    await looking;
    expect((await c.stat('hgfs/docs/f')).length).toBe(15);
    await c.clunk(fid);
  });

  it('a clunk while an open or a create is pending leaves no HGFS handle open on the host', async () => {
    const s = await setup();
    writeFileSync(join(s.share, 'f'), '0123456789');
    const c = await s.connect('9P2000.L');
    for (const how of ['open', 'create'] as const) {
      const fid = await c.walk(how === 'open' ? 'hgfs/docs/f' : 'hgfs/docs');
      const h = hold(s, HgfsOp.OPEN_V3, true); // the host has opened; its answer is held
      const opening = (how === 'open' ? c.open(fid, 'r') : c.createIn(fid, 'new', 0o644, 'rw')).then(
        () => 'opened',
        () => 'failed',
      );
      await h.at;
      await c.clunk(fid);
      h.release();
      await opening;
      expect({ how, open: s.host.hgfs.state().openFiles }).toEqual({ how, open: 0 });
    }
  });

  it('a clunk while a read is pending leaves no HGFS handle open on the host', async () => {
    const s = await setup();
    writeFileSync(join(s.share, 'f'), '0123456789');
    const c = await s.connect('9P2000.L');
    const fid = await c.walk('hgfs/docs/f');
    await c.open(fid, 'r');
    const h = hold(s, HgfsOp.READ_V3);
    const reading = c.read(fid, 0, 10).then(
      () => 'read',
      () => 'failed',
    );
    await h.at;
    await c.clunk(fid); // CLOSE_V3 reaches the host before the held READ_V3
    h.release();
    await reading;
    expect(s.host.hgfs.state().openFiles).toBe(0);
  });

  it('a clunk while a read reopens its file (after a host reset) leaves no HGFS handle open', async () => {
    const s = await setup();
    writeFileSync(join(s.share, 'f'), '0123456789');
    const c = await s.connect('9P2000.u');
    const fid = await c.walk('hgfs/docs/f');
    await c.open(fid, 'r');
    s.host.hgfs.reset();
    const h = hold(s, HgfsOp.OPEN_V3);
    const reading = c.read(fid, 0, 10).then(
      () => 'read',
      () => 'failed',
    );
    await h.at;
    await c.clunk(fid);
    h.release();
    expect(await reading).toBe('failed');
    expect(s.host.hgfs.state().openFiles).toBe(0);
  });
});

describe('a hostile host', () => {
  /** A GETATTR reply for the same request with other attributes. */
  const fakeGetattr =
    (size: bigint, type = 0) =>
    (packet: Uint8Array) => {
      const d = decodeRequest(packet);
      return encodeReply(d.address, {
        op: HgfsOp.GETATTR_V3,
        attr: { ...emptyAttr(), mask: HgfsAttrValid.TYPE | HgfsAttrValid.SIZE, type, size },
        symlinkTarget: '',
      });
    };

  it('fails the one request with a clear error and nothing else', async () => {
    const s = await setup({ attrCacheMs: 0 });
    writeFileSync(join(s.share, 'ok'), 'fine');
    writeFileSync(join(s.share, 'bad_name'), '');
    const c = await s.connect('9P2000.u');
    // A size past 2^53.
    s.tampers.push({ match: (op) => op === HgfsOp.GETATTR_V3, reply: fakeGetattr(1n << 60n) });
    const huge = await c.stat('hgfs/docs/ok').catch((e: RemoteError) => e);
    expect(huge).toBeInstanceOf(RemoteError);
    expect((huge as RemoteError).errno).toBe(5);
    expect((huge as RemoteError).ename).toMatch(/size of 1152921504606846976 bytes/);
    // A file type that does not exist.
    s.tampers.push({ match: (op) => op === HgfsOp.GETATTR_V3, reply: fakeGetattr(1n, 7) });
    expect(await errnoOf(c.stat('hgfs/docs/ok'))).toBe(5);
    // A reply cut short.
    s.tampers.push({
      match: (op) => op === HgfsOp.GETATTR_V3,
      reply: (_p, real) => real.subarray(0, real.length - 30),
    });
    expect(await errnoOf(c.stat('hgfs/docs/ok'))).toBe(5);
    // A listing with a name holding '/' (the same bytes, one changed), for as long as it is listed.
    s.tampers.push({
      keep: true,
      match: (op) => op === HgfsOp.SEARCH_READ_V3,
      reply: (_p, real) => {
        const b = Buffer.from(real);
        const at = b.indexOf('bad_name');
        if (at >= 0) b[at + 3] = 0x2f;
        return b;
      },
    });
    expect(await errnoOf(c.readdir('hgfs/docs'))).toBe(5);
    s.tampers.length = 0;
    // A read that returns more than asked.
    s.tampers.push({
      match: (op) => op === HgfsOp.READ_V3,
      reply: (packet) => {
        const d = decodeRequest(packet);
        return encodeReply(d.address, { op: HgfsOp.READ_V3, data: Buffer.alloc(200_000, 1) });
      },
    });
    const fid = await c.walk('hgfs/docs/ok');
    await c.open(fid, 'r');
    expect(await errnoOf(c.read(fid, 0, 10))).toBe(5);
    // The same fid, the same connection, the same share: all fine afterwards.
    expect(Buffer.from(await c.read(fid, 0, 10)).toString()).toBe('fine');
    await c.clunk(fid);
    expect((await c.readFile('hgfs/docs/ok')).toString()).toBe('fine');
    expect((await c.readdir('hgfs/docs')).map((e) => e.name).sort()).toEqual(['bad_name', 'ok']);
  });

  it('a create whose attributes come back unusable fails, and leaves no handle open on the host', async () => {
    const s = await setup({ attrCacheMs: 0 });
    const c = await s.connect('9P2000.L');
    const dfid = await c.walk('hgfs/docs');
    // The GETATTR_V3 by the new file's handle (hint USE_FILE_DESC) gets a size past 2^53.
    const byHandle = (packet: Uint8Array) => {
      const d = decodeRequest(packet);
      return d.kind === 'request' && (d.request as { hints?: bigint }).hints === HgfsAttrHint.USE_FILE_DESC;
    };
    s.tampers.push({
      match: (op, packet) => op === HgfsOp.GETATTR_V3 && byHandle(packet),
      reply: fakeGetattr(1n << 60n),
    });
    expect(await errnoOf(c.createIn(dfid, 'new', 0o644, 'rw'))).toBe(5);
    await c.clunk(dfid).catch(() => undefined);
    expect(s.host.hgfs.state().openFiles).toBe(0);
  });
});

describe('many clients at once', () => {
  it('16 clients in three dialects write, read back and list their own files in one share', async () => {
    const s = await setup({}, { socket: true });
    const CLIENTS = 16;
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) => s.connect(DIALECTS[i % DIALECTS.length]!)),
    );
    await Promise.all(
      clients.map(async (c, i) => {
        await c.mkdir(`hgfs/docs/c${i}`);
        for (let k = 0; k < 10; k++) {
          const data = Buffer.alloc(1000 + i * 100 + k, `${i}-${k}`);
          await c.writeFile(`hgfs/docs/c${i}/f${k}`, data);
          expect(sum(await c.readFile(`hgfs/docs/c${i}/f${k}`))).toBe(sum(data));
        }
        expect((await c.readdir(`hgfs/docs/c${i}`)).length).toBe(10);
      }),
    );
    for (let i = 0; i < CLIENTS; i++)
      expect(readFileSync(join(s.share, `c${i}`, 'f9')).length).toBe(1000 + i * 100 + 9);
    expect(s.pool.stats.peakInFlight).toBe(4);
    expect(s.host.hgfs.state().openFiles).toBe(0);
  });
});
