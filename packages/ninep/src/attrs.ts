/**
 * Node attributes in each dialect's shape: Plan 9 stat entries (9P2000/.u), Linux getattr (.L),
 * and the reverse mappings for Twstat / Tsetattr / Tlopen flags.
 */
import {
  type Dialect,
  DMDIR,
  DMSYMLINK,
  DT_DIR,
  DT_LNK,
  DT_REG,
  GETATTR_BASIC,
  L_O_TRUNC,
  ORCLOSE,
  OTRUNC,
  QTSYMLINK,
  S_IFDIR,
  S_IFLNK,
  S_IFREG,
  SETATTR_ATIME,
  SETATTR_ATIME_SET,
  SETATTR_GID,
  SETATTR_MODE,
  SETATTR_MTIME,
  SETATTR_MTIME_SET,
  SETATTR_SIZE,
  SETATTR_UID,
} from './constants.js';
import { Errno, p9err } from './errors.js';
import type { MessageFields, Stat } from './messages.js';
import type { AttrChanges, Node, OpenMode } from './tree.js';

const U32_MAX = 0xffffffff;
const U64_MAX = 0xffffffffffffffffn;

export function statOf(node: Node, dialect: Dialect, isRoot = false): Stat {
  // 9P2000 has no symlinks: it sees one as a file (whose contents are the target).
  const plain = dialect === '9P2000' && (node.mode & DMSYMLINK) !== 0;
  const qid = plain ? { ...node.qid, type: node.qid.type & ~QTSYMLINK } : node.qid;
  const st: Stat = {
    type: 0,
    dev: 0,
    qid,
    mode: (plain ? node.mode & ~DMSYMLINK : node.mode) >>> 0,
    atime: node.atime >>> 0,
    mtime: node.mtime >>> 0,
    length: BigInt(node.isDir ? 0 : node.length),
    name: isRoot ? '/' : node.name,
    uid: node.uid,
    gid: node.gid,
    muid: node.muid,
  };
  if (dialect === '9P2000.u') {
    st.extension = node.extension;
    st.nUid = node.nUid;
    st.nGid = node.nGid;
    st.nMuid = node.nUid;
  }
  return st;
}

/** Linux st_mode for a Plan 9 mode: the file-type bits matter (a mode without them breaks inodes). */
export function linuxMode(mode: number): number {
  const type = mode & DMDIR ? S_IFDIR : mode & DMSYMLINK ? S_IFLNK : S_IFREG;
  return type | (mode & 0o777);
}

export function direntType(node: Node): number {
  return node.mode & DMDIR ? DT_DIR : node.mode & DMSYMLINK ? DT_LNK : DT_REG;
}

export function getattrOf(node: Node): MessageFields['Rgetattr'] {
  const size = BigInt(node.isDir ? 0 : node.length);
  const mtime = BigInt(node.mtime);
  return {
    valid: GETATTR_BASIC,
    qid: node.qid,
    mode: linuxMode(node.mode),
    uid: node.nUid,
    gid: node.nGid,
    nlink: node.isDir ? 2n : 1n,
    rdev: 0n,
    size,
    blksize: 4096n,
    blocks: (size + 511n) / 512n,
    atimeSec: BigInt(node.atime),
    atimeNsec: 0n,
    mtimeSec: mtime,
    mtimeNsec: 0n,
    ctimeSec: mtime,
    ctimeNsec: 0n,
    btimeSec: 0n,
    btimeNsec: 0n,
    gen: 0n,
    dataVersion: 0n,
  };
}

/** Twstat: fields sent as "don't touch" (all ones, empty strings) are left out (§3.4). */
export function changesFromWstat(st: Stat, node: Node): AttrChanges {
  const c: AttrChanges = {};
  if (st.mode !== U32_MAX) {
    if ((st.mode & DMDIR) !== (node.mode & DMDIR)) throw p9err(Errno.EINVAL, 'cannot change the DMDIR bit');
    c.mode = st.mode;
  }
  if (st.length !== U64_MAX) {
    if (st.length > BigInt(Number.MAX_SAFE_INTEGER)) throw p9err(Errno.EFBIG);
    c.length = Number(st.length);
  }
  if (st.atime !== U32_MAX) c.atime = st.atime;
  if (st.mtime !== U32_MAX) c.mtime = st.mtime;
  if (st.name !== '') c.name = st.name;
  if (st.uid !== '' && st.uid !== node.uid) throw p9err(Errno.EPERM, 'wstat prohibited');
  if (st.gid !== '') c.gid = st.gid;
  return c;
}

export function changesFromSetattr(m: MessageFields['Tsetattr']): AttrChanges {
  const c: AttrChanges = {};
  const now = Math.floor(Date.now() / 1000);
  if (m.valid & SETATTR_MODE) c.mode = m.mode & 0o7777;
  if (m.valid & SETATTR_UID) c.uid = m.uid;
  if (m.valid & SETATTR_GID) c.gid = m.gid;
  if (m.valid & SETATTR_SIZE) {
    if (m.size > BigInt(Number.MAX_SAFE_INTEGER)) throw p9err(Errno.EFBIG);
    c.length = Number(m.size);
  }
  if (m.valid & SETATTR_ATIME) c.atime = m.valid & SETATTR_ATIME_SET ? Number(m.atimeSec) : now;
  if (m.valid & SETATTR_MTIME) c.mtime = m.valid & SETATTR_MTIME_SET ? Number(m.mtimeSec) : now;
  return c;
}

export function openModeFrom9P(mode: number): OpenMode {
  return { access: mode & 3, truncate: (mode & OTRUNC) !== 0, removeOnClose: (mode & ORCLOSE) !== 0 };
}

/** Tlopen flags: only the access mode and O_TRUNC matter (Linux truncates with Tsetattr anyway). */
export function openModeFromL(flags: number): OpenMode {
  return { access: flags & 3, truncate: (flags & L_O_TRUNC) !== 0, removeOnClose: false };
}
