/**
 * What each request means: the walk rules, open/create, reads and writes, directory reads per
 * dialect, stat/wstat and the .L equivalents, each mapped onto the file tree (tree.ts).
 */
import {
  changesFromSetattr,
  changesFromWstat,
  direntType,
  getattrOf,
  openModeFrom9P,
  openModeFromL,
  statOf,
} from './attrs.js';
import { direntSize, encodeDirent, encodeStat } from './codec.js';
import {
  AT_REMOVEDIR,
  DMDIR,
  DMSYMLINK,
  LOCK_SUCCESS,
  LOCK_TYPE_UNLCK,
  MAXWELEM,
  NOFID,
  NONUNAME,
  OREAD,
  V9FS_MAGIC,
} from './constants.js';
import { Errno, type NinepError, p9err } from './errors.js';
import { Fid } from './fid.js';
import type { Message, MessageName, Qid } from './messages.js';
import type { ReplyBody, Request } from './request.js';
import type { Session } from './session.js';
import {
  accessBits,
  canRead,
  canWrite,
  Dir,
  type File,
  type Node,
  type OpenMode,
  permits,
  type StatfsFigures,
  Symlink,
  type User,
} from './tree.js';

export type Handler = (c: Session, m: Message, req: Request) => ReplyBody | Promise<ReplyBody>;
type H<N extends MessageName> = (c: Session, m: Message<N>, req: Request) => ReplyBody | Promise<ReplyBody>;

function fidOf(c: Session, fid: number): Fid {
  const f = c.fids.get(fid);
  if (!f) throw p9err(Errno.EBADF, 'fid unknown or out of range');
  return f;
}

/**
 * A fid a request may create, counted against maxFids until the request ends (when a walk's commit
 * adds it, in the same turn): many walks in flight at once must not pass the cap together.
 */
function reserveNewFid(c: Session, fid: number, req: Request): void {
  if (fid === NOFID) throw p9err(Errno.EBADF, 'fid unknown or out of range');
  if (c.fids.has(fid)) throw p9err(Errno.EBADF, 'fid already in use');
  if (c.fids.size + c.reservedFids >= c.options.maxFids)
    throw p9err(
      Errno.EMFILE,
      `too many fids on this connection (the limit is ${c.options.maxFids}): clunk some`,
    );
  if (c.serverFids() >= c.options.maxTotalFids)
    throw p9err(
      Errno.ENFILE,
      `too many fids on this server (the limit is ${c.options.maxTotalFids} across all connections)`,
    );
  c.reservedFids++;
  req.onEnd(() => c.reservedFids--);
}

function dirOf(f: Fid): Dir {
  if (!(f.node instanceof Dir)) throw p9err(Errno.ENOTDIR);
  return f.node;
}

function safeOffset(offset: bigint): number {
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw p9err(Errno.EINVAL, 'offset out of range');
  return Number(offset);
}

/**
 * A name a client may give a new file. Its length is bounded so that its directory entry fits
 * every dialect at every msize (a 9P2000 stat is at most 65535 bytes, and a directory read at the
 * smallest msize must hold one whole entry): one file must not break every listing of its directory.
 */
function validName(c: Session, name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/'))
    throw p9err(Errno.EINVAL, `illegal name "${name}"`);
  const bytes = Buffer.byteLength(name);
  if (bytes > c.options.maxNameBytes)
    throw p9err(Errno.ENAMETOOLONG, `a name of ${bytes} bytes is longer than ${c.options.maxNameBytes}`);
}

function need(c: Session, node: Node, user: User, bits: number): void {
  if (c.options.permissions !== false && !permits(node, user, bits)) throw p9err(Errno.EACCES);
}

async function openFid(c: Session, f: Fid, mode: OpenMode): Promise<Qid> {
  if (f.mode) throw p9err(Errno.EBADF, 'fid already open');
  const { node } = f;
  if (node.isDir && (mode.access !== OREAD || mode.truncate)) throw p9err(Errno.EISDIR);
  need(c, node, f.user, accessBits(mode));
  if (mode.removeOnClose && node.parent) need(c, node.parent, f.user, 2);
  c.exclusive.claim(node);
  f.mode = mode;
  f.dirList = undefined;
  try {
    await node.open(f, mode);
  } catch (err) {
    f.mode = null;
    c.exclusive.release(node);
    throw err;
  }
  if (f.released) await undoForClunked(c, f);
  return node.qid;
}

/**
 * The fid was clunked while its create or open was in flight: the clunk ran before the node had
 * anything for it, so the node's clunk runs again now to release what the open made (a proxy's
 * handle on another system, say), and the request fails.
 */
async function undoForClunked(c: Session, f: Fid): Promise<never> {
  f.mode = null;
  c.exclusive.release(f.node);
  await f.node.clunk(f);
  throw p9err(Errno.EBADF, 'the fid was clunked while it was being opened');
}

async function createIn(c: Session, f: Fid, name: string, perm: number): Promise<Node> {
  const dir = dirOf(f);
  validName(c, name);
  need(c, dir, f.user, 2);
  if (await dir.lookup(name, f)) throw p9err(Errno.EEXIST);
  return dir.create(name, perm >>> 0, f);
}

/** Tsymlink, and .u's Tcreate with DMSYMLINK: the directory makes the link, the target untouched. */
async function symlinkIn(c: Session, f: Fid, name: string, target: string): Promise<Node> {
  const dir = dirOf(f);
  validName(c, name);
  // Linux refuses an empty target before asking (ENOENT); a client that sends one gets the same.
  if (target === '') throw p9err(Errno.ENOENT, 'a symlink needs a target');
  need(c, dir, f.user, 2);
  if (await dir.lookup(name, f)) throw p9err(Errno.EEXIST);
  return dir.symlink(name, target, f);
}

/** The figures of the file system a node is in: the nearest node that answers, else the server's. */
async function statfsOf(c: Session, f: Fid): Promise<StatfsFigures> {
  for (let n: Node | undefined = f.node; n; n = n.parent) {
    const s = await n.statfs(f);
    if (s) return s;
    if (n === f.root) break;
  }
  return c.options.statfs?.() ?? {};
}

async function walk(c: Session, m: Message<'Twalk'>, req: Request): Promise<ReplyBody> {
  const f = fidOf(c, m.fid);
  if (m.newfid !== m.fid) reserveNewFid(c, m.newfid, req);
  // Walking an open fid to a new fid is allowed (Linux does it); in place it would lose the open state.
  else if (f.mode) throw p9err(Errno.EBADF, 'cannot walk an open fid in place');
  if (m.wnames.length > MAXWELEM)
    throw p9err(Errno.EINVAL, `walk of ${m.wnames.length} names exceeds ${MAXWELEM}`);
  let node = f.node;
  const qids: Qid[] = [];
  for (const [i, name] of m.wnames.entries()) {
    let next: Node | undefined;
    let err: NinepError | undefined;
    if (!(node instanceof Dir)) err = p9err(Errno.ENOTDIR);
    else if (c.options.permissions !== false && !permits(node, f.user, 1)) err = p9err(Errno.EACCES);
    else if (name === '..') next = node === f.root ? node : (node.parent ?? node);
    else next = await node.lookup(name, f);
    if (!next) {
      if (i === 0) throw err ?? p9err(Errno.ENOENT);
      break; // a partial walk: Rwalk with the qids so far, newfid untouched
    }
    node = next;
    qids.push(node.qid);
  }
  if (qids.length === m.wnames.length) {
    req.commit = () => {
      if (m.newfid === m.fid) {
        f.node = node;
        f.dirList = undefined;
      } else {
        const nf = f.clone();
        nf.node = node;
        c.fids.set(m.newfid, nf);
      }
    };
  }
  return { type: 'Rwalk', qids };
}

async function dirRead(c: Session, f: Fid, offset: number, count: number): Promise<Uint8Array> {
  const dir = f.node as Dir;
  if (offset === 0) {
    f.dirList = await dir.list(f);
    f.dirIndex = 0;
    f.dirOffset = 0;
  } else if (!f.dirList || offset !== f.dirOffset) {
    throw p9err(Errno.ESPIPE, 'bad offset in directory read');
  }
  const parts: Buffer[] = [];
  let size = 0;
  while (f.dirIndex < f.dirList.length) {
    const entry = encodeStat(statOf(f.dirList[f.dirIndex]!, c.dialect), c.dialect);
    if (size + entry.length > count) break;
    parts.push(entry);
    size += entry.length;
    f.dirIndex++;
  }
  if (parts.length === 0 && f.dirIndex < f.dirList.length)
    throw p9err(Errno.EMSGSIZE, 'directory entry does not fit in the read count');
  f.dirOffset += size;
  return Buffer.concat(parts, size);
}

async function readdir(c: Session, m: Message<'Treaddir'>): Promise<ReplyBody> {
  const f = fidOf(c, m.fid);
  const dir = dirOf(f);
  if (!canRead(f.mode)) throw p9err(Errno.EBADF, 'fid not open for reading');
  // Cookie = index of the next entry; a snapshot taken at cookie 0 keeps every cookie resolvable.
  const start = safeOffset(m.offset);
  if (start === 0 || !f.dirList) f.dirList = await dir.list(f);
  const count = Math.min(m.count, c.iounit);
  const buf = Buffer.allocUnsafe(count);
  let pos = 0;
  for (let i = start; i < f.dirList.length; i++) {
    const n = f.dirList[i]!;
    const d = { qid: n.qid, offset: BigInt(i + 1), type: direntType(n), name: n.name };
    if (pos + direntSize(d) > count) {
      if (pos === 0) throw p9err(Errno.EINVAL, 'directory entry does not fit in the readdir count');
      break;
    }
    pos = encodeDirent(d, buf, pos);
  }
  return { type: 'Rreaddir', data: buf.subarray(0, pos) };
}

function userOf(m: { uname: string; nUname?: number }): User {
  return { uname: m.uname, nUname: m.nUname ?? NONUNAME };
}

function attachRoot(c: Session, m: Message<'Tattach'>): Dir | Promise<Dir> {
  const { root } = c.options;
  return typeof root === 'function'
    ? root({ uname: m.uname, aname: m.aname, nUname: m.nUname ?? NONUNAME })
    : root;
}

const ok = <T extends ReplyBody['type']>(type: T) => ({ type }) as ReplyBody;

export const handlers: { [N in MessageName]?: H<N> } = {
  // Tauth is answered with an error, so every client attaches with NOFID. diod's clients (libnpclient)
  // read only errno 0 or ENOENT as "authentication not required" (any other errno is fatal to them);
  // Plan 9 and plan9port only need an Rerror.
  Tauth: (c) => {
    throw p9err(c.dialect === '9P2000.L' ? Errno.ENOENT : Errno.EOPNOTSUPP, 'authentication not required');
  },
  Tattach: (c, m, req) => {
    reserveNewFid(c, m.fid, req);
    if (m.afid !== NOFID) throw p9err(Errno.EBADF, 'unknown afid: authentication not required');
    const done = (root: Dir): ReplyBody => {
      // Its place is reserved; another request may have taken the fid number meanwhile.
      if (c.fids.has(m.fid)) throw p9err(Errno.EBADF, 'fid already in use');
      c.fids.set(m.fid, new Fid(root, userOf(m), root, c.exclusive));
      return { type: 'Rattach', qid: root.qid };
    };
    const root = attachRoot(c, m);
    return root instanceof Promise ? root.then(done) : done(root);
  },
  Twalk: walk,
  Topen: async (c, m) => ({
    type: 'Ropen',
    qid: await openFid(c, fidOf(c, m.fid), openModeFrom9P(m.mode)),
    iounit: c.iounit,
  }),
  Tlopen: async (c, m) => ({
    type: 'Rlopen',
    qid: await openFid(c, fidOf(c, m.fid), openModeFromL(m.flags)),
    iounit: c.iounit,
  }),
  Tcreate: async (c, m) => {
    const f = fidOf(c, m.fid);
    if (f.mode) throw p9err(Errno.EBADF, 'fid already open');
    let node: Node;
    if (m.perm & DMSYMLINK) {
      // .u carries the target in `extension`; 9P2000 has no symlinks to make.
      if (c.dialect !== '9P2000.u') throw p9err(Errno.EINVAL, 'symlinks need 9P2000.u or 9P2000.L');
      node = await symlinkIn(c, f, m.name, m.extension ?? '');
    } else node = await createIn(c, f, m.name, m.perm);
    f.node = node;
    if (f.released) await undoForClunked(c, f);
    return { type: 'Rcreate', qid: await openFid(c, f, openModeFrom9P(m.mode)), iounit: c.iounit };
  },
  Tlcreate: async (c, m) => {
    const f = fidOf(c, m.fid);
    if (f.mode) throw p9err(Errno.EBADF, 'fid already open');
    const node = await createIn(c, f, m.name, m.mode & 0o777);
    f.node = node;
    if (f.released) await undoForClunked(c, f);
    return { type: 'Rlcreate', qid: await openFid(c, f, openModeFromL(m.flags & ~0o1000)), iounit: c.iounit };
  },
  Tmkdir: async (c, m) => {
    const node = await createIn(c, fidOf(c, m.dfid), m.name, (DMDIR | (m.mode & 0o777)) >>> 0);
    return { type: 'Rmkdir', qid: node.qid };
  },
  Tread: async (c, m, req) => {
    const f = fidOf(c, m.fid);
    if (!canRead(f.mode)) throw p9err(Errno.EBADF, 'fid not open for reading');
    const count = Math.min(m.count, c.iounit);
    const offset = safeOffset(m.offset);
    if (f.node instanceof Dir) {
      if (c.dialect === '9P2000.L') throw p9err(Errno.EISDIR);
      return { type: 'Rread', data: await dirRead(c, f, offset, count) };
    }
    const data = await (f.node as File).read(f, offset, count, req.signal);
    return { type: 'Rread', data: data.length > count ? data.subarray(0, count) : data };
  },
  Twrite: async (c, m, req) => {
    const f = fidOf(c, m.fid);
    if (!canWrite(f.mode)) throw p9err(Errno.EBADF, 'fid not open for writing');
    if (f.node instanceof Dir) throw p9err(Errno.EISDIR);
    const n = await (f.node as File).write(f, safeOffset(m.offset), m.data, req.signal);
    return { type: 'Rwrite', count: Math.min(n, m.data.length) };
  },
  Tclunk: async (c, m) => {
    const f = fidOf(c, m.fid);
    // Freed before anything can fail: clients reuse the number as soon as Rclunk arrives.
    c.fids.delete(m.fid);
    await f.release();
    return ok('Rclunk');
  },
  Tremove: async (c, m) => {
    const f = fidOf(c, m.fid);
    c.fids.delete(m.fid); // the fid is clunked even if the removal fails
    try {
      const parent = f.node.parent;
      if (!parent || f.node === f.root) throw p9err(Errno.EPERM, 'cannot remove the root');
      need(c, parent, f.user, 2);
      await parent.remove(f.node, f);
    } finally {
      if (f.mode) f.mode.removeOnClose = false;
      await f.release();
    }
    return ok('Rremove');
  },
  Tstat: async (c, m) => {
    const f = fidOf(c, m.fid);
    await f.node.refresh(f);
    return { type: 'Rstat', stat: statOf(f.node, c.dialect, f.node === f.root) };
  },
  Twstat: async (c, m) => {
    const f = fidOf(c, m.fid);
    const changes = changesFromWstat(m.stat, f.node);
    if (Object.keys(changes).length === 0) return ok('Rwstat'); // all don't-touch: a sync
    if (changes.length !== undefined) need(c, f.node, f.user, 2);
    if (changes.name !== undefined) {
      validName(c, changes.name);
      if (f.node.parent) need(c, f.node.parent, f.user, 2);
    }
    await f.node.setattr(changes, f);
    return ok('Rwstat');
  },
  Tgetattr: async (c, m) => {
    const f = fidOf(c, m.fid);
    await f.node.refresh(f);
    return { type: 'Rgetattr', ...getattrOf(f.node) };
  },
  Tsetattr: async (c, m) => {
    const f = fidOf(c, m.fid);
    const changes = changesFromSetattr(m);
    if (changes.length !== undefined) need(c, f.node, f.user, 2);
    if (Object.keys(changes).length > 0) await f.node.setattr(changes, f);
    return ok('Rsetattr');
  },
  Treaddir: readdir,
  Tstatfs: async (c, m) => {
    const s = await statfsOf(c, fidOf(c, m.fid));
    return {
      type: 'Rstatfs',
      fsType: V9FS_MAGIC,
      bsize: 4096,
      blocks: 0n,
      bfree: 0n,
      bavail: 0n,
      files: 0n,
      ffree: 0n,
      fsid: 0n,
      namelen: 255,
      ...s,
    };
  },
  Tunlinkat: async (c, m) => {
    const f = fidOf(c, m.dirfid);
    const dir = dirOf(f);
    const child = await dir.lookup(m.name, f);
    if (!child) throw p9err(Errno.ENOENT);
    if (m.flags & AT_REMOVEDIR && !child.isDir) throw p9err(Errno.ENOTDIR);
    if (!(m.flags & AT_REMOVEDIR) && child.isDir) throw p9err(Errno.EISDIR);
    need(c, dir, f.user, 2);
    await dir.remove(child, f);
    return ok('Runlinkat');
  },
  Trenameat: async (c, m) => {
    const from = fidOf(c, m.olddirfid);
    const to = dirOf(fidOf(c, m.newdirfid));
    const dir = dirOf(from);
    validName(c, m.newname);
    const child = await dir.lookup(m.oldname, from);
    if (!child) throw p9err(Errno.ENOENT);
    need(c, dir, from.user, 2);
    need(c, to, from.user, 2);
    await dir.rename(child, to, m.newname, from);
    return ok('Rrenameat');
  },
  Trename: async (c, m) => {
    const f = fidOf(c, m.fid);
    const to = dirOf(fidOf(c, m.dfid));
    validName(c, m.name);
    const parent = f.node.parent;
    if (!parent) throw p9err(Errno.EPERM, 'cannot rename the root');
    need(c, parent, f.user, 2);
    need(c, to, f.user, 2);
    await parent.rename(f.node, to, m.name, f);
    return ok('Rrename');
  },
  Tfsync: async (c, m) => {
    const f = fidOf(c, m.fid);
    await f.node.fsync(f, m.datasync !== 0);
    return ok('Rfsync');
  },
  // Advisory locks always succeed: there is nothing on the server side to protect.
  Tlock: (c, m) => {
    fidOf(c, m.fid);
    return { type: 'Rlock', status: LOCK_SUCCESS };
  },
  Tgetlock: (c, m) => {
    fidOf(c, m.fid);
    return {
      type: 'Rgetlock',
      lockType: LOCK_TYPE_UNLCK,
      start: m.start,
      length: m.length,
      procId: m.procId,
      clientId: m.clientId,
    };
  },
  // Linux probes security.capability before truncating: ENODATA lets it carry on.
  Txattrwalk: () => {
    throw p9err(Errno.ENODATA);
  },
  Txattrcreate: () => {
    throw p9err(Errno.EOPNOTSUPP);
  },
  Treadlink: async (c, m) => {
    const f = fidOf(c, m.fid);
    if (!(f.node instanceof Symlink)) throw p9err(Errno.EINVAL, 'not a symlink');
    return { type: 'Rreadlink', target: await f.node.readlink(f) };
  },
  Tsymlink: async (c, m) => {
    const node = await symlinkIn(c, fidOf(c, m.fid), m.name, m.symtgt);
    return { type: 'Rsymlink', qid: node.qid };
  },
  Tmknod: () => {
    throw p9err(Errno.EOPNOTSUPP);
  },
  Tlink: () => {
    throw p9err(Errno.EOPNOTSUPP);
  },
  Topenfd: () => {
    throw p9err(Errno.EOPNOTSUPP, 'openfd not supported');
  },
};

// Classic-only requests in a .L session answer EOPNOTSUPP (Linux never sends them there).
for (const name of ['Topen', 'Tcreate', 'Tstat', 'Twstat'] as const) {
  const h = handlers[name] as Handler;
  (handlers as Record<string, Handler>)[name] = (c, m, r) => {
    if (c.dialect === '9P2000.L') throw p9err(Errno.EOPNOTSUPP);
    return h(c, m, r);
  };
}
