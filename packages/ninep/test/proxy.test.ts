/**
 * What a tree proxying a real file system needs of the server (docs/protocol/9p.md §8, §14):
 * symlinks in each dialect, statfs answered by the node's own file system, Tfsync and Tsetattr
 * reaching the node, renames onto a directory's rename, fields refreshed before stat/getattr,
 * qid paths a node chooses, and iounit = msize − IOHDRSZ on every open.
 */
import { Duplex, PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AttrChanges,
  createRamfs,
  type Dialect,
  type Dir,
  DMDIR,
  DMSYMLINK,
  DT_LNK,
  decodeDirents,
  decodeStats,
  dontTouch,
  type FidContext,
  IOHDRSZ,
  NinepClient,
  NinepServer,
  type Node,
  QTSYMLINK,
  RamDir,
  RamFile,
  RemoteError,
  S_IFLNK,
  S_IFMT,
  type StatfsFigures,
  Symlink,
} from '../src/index.js';

/** A directory standing for another file system: its own statfs, qid paths and a recorded rename. */
class VolumeDir extends RamDir {
  renames: string[] = [];
  override statfs(): StatfsFigures {
    return { bsize: 512, blocks: 1000n, bfree: 400n, bavail: 400n, fsid: 7n };
  }
  override rename(child: Node, to: Dir, newName: string): void {
    this.renames.push(`${child.name}->${to.name}/${newName}`);
    super.rename(child, to, newName);
  }
}

/** A file whose fields come from elsewhere: refreshed before stat, fsync and setattr recorded. */
class ProxyFile extends RamFile {
  refreshes = 0;
  syncs: boolean[] = [];
  changes: AttrChanges[] = [];
  backingLength = 0;
  override get qidPath(): bigint {
    return 0x1234_0000_0000_0042n;
  }
  override get length(): number {
    return this.backingLength;
  }
  override refresh(): void {
    this.refreshes++;
    this.backingLength = 4242;
  }
  override fsync(_fid: FidContext, dataOnly: boolean): void {
    this.syncs.push(dataOnly);
  }
  override setattr(c: AttrChanges, fid: FidContext): void | Promise<void> {
    this.changes.push(c);
    return super.setattr(c, fid);
  }
}

function makeTree() {
  const root = createRamfs('none');
  const vol = root.add(new VolumeDir('vol', 0o777));
  const proxy = vol.add(new ProxyFile('proxy', 0o666));
  vol.add(new RamDir('sub', 0o777));
  root.add(new Symlink('link', 'vol/proxy'));
  return { root, vol, proxy };
}

let clients: NinepClient[] = [];
afterEach(() => {
  for (const c of clients) c.close();
  clients = [];
});

async function connect(version: Dialect, msize = 8192) {
  const t = makeTree();
  const server = new NinepServer({ root: t.root, statfs: () => ({ blocks: 99n }) });
  // One in-memory stream pair: what the client writes the server reads, and the other way.
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  server.serve(toServer, fromServer);
  const stream = new Duplex({
    write(chunk, _enc, cb) {
      toServer.write(chunk, cb);
    },
    read() {},
  });
  fromServer.on('data', (d: Buffer) => stream.push(d));
  const c = await NinepClient.connect(stream, { version, msize });
  clients.push(c);
  return { c, ...t };
}

describe('symlinks', () => {
  it('9P2000.L: Tsymlink makes one, Treadlink and Tgetattr show it, readdir types it; a file is no link', async () => {
    const { c, root } = await connect('9P2000.L');
    const target = `a/../b c/ünïcode/${'x'.repeat(300)}`;
    await c.symlink('made', target);
    const made = root.children.get('made');
    expect(made).toBeInstanceOf(Symlink);
    expect((made as Symlink).target).toBe(target);
    expect(await c.readlink('made')).toBe(target);
    expect(await c.readlink('link')).toBe('vol/proxy');
    const fid = await c.walk('made');
    const a = await c.rpc({ type: 'Tgetattr', fid, requestMask: 0x7ffn });
    expect(a.mode & S_IFMT).toBe(S_IFLNK);
    expect(a.size).toBe(BigInt(Buffer.byteLength(target)));
    expect(a.qid.type & QTSYMLINK).toBe(QTSYMLINK);
    await c.clunk(fid);
    const dfid = await c.walk('');
    await c.open(dfid, 'r');
    const ents = decodeDirents((await c.rpc({ type: 'Treaddir', fid: dfid, offset: 0n, count: 8000 })).data);
    expect(ents.find((e) => e.name === 'made')?.type).toBe(DT_LNK);
    await c.clunk(dfid);
    await expect(c.readlink('vol/proxy')).rejects.toMatchObject({ errno: 22 });
    await expect(c.symlink('made', 'again')).rejects.toMatchObject({ errno: 17 });
    await expect(c.symlink('empty', '')).rejects.toMatchObject({ errno: 2 });
    await expect(c.symlink('vol/sub/../x/y', 't')).rejects.toBeInstanceOf(RemoteError);
  });

  it('9P2000.u: Tcreate with DMSYMLINK takes the target from extension; Rstat and directory reads carry it', async () => {
    const { c, root } = await connect('9P2000.u');
    await c.symlink('made', '/abs/target');
    expect((root.children.get('made') as Symlink).target).toBe('/abs/target');
    const st = await c.stat('made');
    expect(st.mode).toBe((DMSYMLINK | 0o777) >>> 0);
    expect(st.extension).toBe('/abs/target');
    expect(await c.readlink('link')).toBe('vol/proxy');
    const fid = await c.walk('');
    await c.open(fid, 'r');
    const stats = decodeStats(Buffer.from(await c.readToEnd(fid)), '9P2000.u');
    expect(stats.find((s) => s.name === 'link')?.extension).toBe('vol/proxy');
    await c.clunk(fid);
  });

  it('9P2000: a symlink is a file whose contents are its target; Tcreate with DMSYMLINK is refused', async () => {
    const { c } = await connect('9P2000');
    const st = await c.stat('link');
    expect(st.mode & DMSYMLINK).toBe(0);
    expect(st.qid.type & QTSYMLINK).toBe(0);
    expect(st.length).toBe('vol/proxy'.length);
    expect((await c.readFile('link')).toString()).toBe('vol/proxy');
    const fid = await c.walk('');
    await expect(
      c.rpc({ type: 'Tcreate', fid, name: 'x', perm: (DMSYMLINK | 0o777) >>> 0, mode: 0 }),
    ).rejects.toThrow(/symlinks need 9P2000.u/);
    await c.clunk(fid);
  });
});

describe.each(['9P2000', '9P2000.u', '9P2000.L'] as const)('a proxied tree over %s', (version) => {
  it('refreshes a node before stat, keeps its own qid path, and gives iounit = msize − 24 on every open', async () => {
    const { c, proxy } = await connect(version, 16384);
    const st = await c.stat('vol/proxy');
    expect(proxy.refreshes).toBe(1);
    expect(st.length).toBe(4242);
    expect(st.qid.path).toBe(0x1234_0000_0000_0042n);
    const fid = await c.walk('vol/proxy');
    expect((await c.open(fid, 'rw')).iounit).toBe(16384 - IOHDRSZ);
    await c.clunk(fid);
    const dfid = await c.walk('vol');
    expect((await c.createIn(dfid, 'new', 0o644, 'rw')).iounit).toBe(16384 - IOHDRSZ);
    await c.clunk(dfid);
  });

  it('Tsetattr/Twstat bring size, mode and times to the node', async () => {
    const { c, proxy } = await connect(version);
    const fid = await c.walk('vol/proxy');
    if (version === '9P2000.L') {
      await c.rpc({
        type: 'Tsetattr',
        fid,
        valid: 0x1 | 0x8 | 0x10 | 0x20 | 0x80 | 0x100,
        mode: 0o640,
        uid: 0,
        gid: 0,
        size: 5n,
        atimeSec: 1000n,
        atimeNsec: 0n,
        mtimeSec: 2000n,
        mtimeNsec: 0n,
      });
    } else {
      await c.rpc({
        type: 'Twstat',
        fid,
        stat: { ...dontTouch(), mode: 0o640, length: 5n, atime: 1000, mtime: 2000 },
      });
    }
    expect(proxy.changes).toEqual([{ mode: 0o640, length: 5, atime: 1000, mtime: 2000 }]);
    await c.clunk(fid);
  });

  it('renames reach the directory’s rename', async () => {
    const { c, vol } = await connect(version);
    if (version === '9P2000.L') {
      await c.rename('vol/proxy', 'vol/sub/moved');
      expect(vol.renames).toEqual(['proxy->sub/moved']);
      // Trename (what Linux falls back to): the fid's node, the new directory and name.
      const fid = await c.walk('vol/sub/moved');
      const dfid = await c.walk('vol');
      await c.rpc({ type: 'Trename', fid, dfid, name: 'back' });
      await c.clunk(fid);
      await c.clunk(dfid);
      expect((await c.stat('vol/back')).length).toBe(4242);
    } else {
      await c.rename('vol/proxy', 'vol/renamed');
      expect(vol.renames).toEqual(['proxy->vol/renamed']);
    }
  });
});

describe('9P2000.L statfs and fsync', () => {
  it('Tstatfs answers from the nearest node with figures, else the server option', async () => {
    const { c } = await connect('9P2000.L');
    for (const p of ['vol', 'vol/proxy', 'vol/sub']) {
      const fid = await c.walk(p);
      expect(await c.rpc({ type: 'Tstatfs', fid })).toMatchObject({ bsize: 512, blocks: 1000n, bfree: 400n });
      await c.clunk(fid);
    }
    const fid = await c.walk('');
    expect(await c.rpc({ type: 'Tstatfs', fid })).toMatchObject({ bsize: 4096, blocks: 99n });
    await c.clunk(fid);
  });

  it('Tfsync reaches the node with its datasync flag', async () => {
    const { c, proxy } = await connect('9P2000.L');
    const fid = await c.walk('vol/proxy');
    await c.open(fid, 'w');
    await c.rpc({ type: 'Tfsync', fid, datasync: 0 });
    await c.rpc({ type: 'Tfsync', fid, datasync: 1 });
    expect(proxy.syncs).toEqual([false, true]);
    await c.clunk(fid);
  });

  it('a directory tree made by mkdir keeps its DMDIR and the links in it', async () => {
    const { c, root } = await connect('9P2000.L');
    await c.mkdir('d');
    await c.symlink('d/l', '../link');
    expect(((root.children.get('d') as Dir).children.get('l') as Symlink).target).toBe('../link');
    expect((await c.stat('d')).mode & DMDIR).toBeTruthy();
  });
});

describe('a clunk while an open is in flight', () => {
  /** A file whose open takes a resource (a proxy's handle) once `gate` opens; its clunk gives it back. */
  class HandleFile extends RamFile {
    held = 0;
    gate: Promise<void> = Promise.resolve();
    reached: () => void = () => {};
    override async open(fid: FidContext): Promise<void> {
      this.reached();
      await this.gate;
      this.held++;
      fid.aux = 'handle';
    }
    override clunk(fid: FidContext): void {
      if (fid.aux === 'handle') this.held--;
      fid.aux = undefined;
    }
  }

  it.each(['9P2000', '9P2000.L'] as const)(
    '%s: what the open made is released, and the open fails',
    async (version) => {
      const { c, root } = await connect(version);
      const file = root.add(new HandleFile('h', 0o666));
      let release!: () => void;
      file.gate = new Promise((r) => {
        release = r;
      });
      const reached = new Promise<void>((r) => {
        file.reached = r;
      });
      const fid = await c.walk('h');
      const opening = c.open(fid, 'r').then(
        () => 'opened',
        (e: RemoteError) => e.errno || e.ename,
      );
      await reached;
      await c.clunk(fid);
      release();
      expect(await opening).not.toBe('opened');
      expect(file.held).toBe(0);
    },
  );
});
