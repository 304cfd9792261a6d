/**
 * HGFS attributes as a 9P node shows them (docs/protocol/tree.md §17): the file type, Unix
 * permissions with the configured dmask/fmask taken away, sizes, times in seconds, owners (the
 * configured uid/gid, else the host's), and a qid path made of the share's number and the host's
 * file id, so the same file keeps its qid across walks and two shares never collide. Every value
 * is checked: a host that sends an impossible one makes this request fail, nothing else.
 */
import {
  type HgfsAttr,
  type HgfsAttrV2,
  HgfsAttrValid,
  HgfsFileType,
  HgfsPermission,
  type SetAttrChanges,
  UNIX_EPOCH_NT,
  unixNsToNtTime,
} from '@vmw9/hgfs';
import { type AttrChanges, DMDIR, DMSYMLINK } from 'ninep';
import { HgfsReplyError } from './errors.js';

/** How host files are presented to 9P clients: owners and permission masks (the agent's [hgfs]). */
export interface Presentation {
  /** Numeric owner shown for every file; undefined: the host's (HGFS userId). */
  uid?: number;
  /** Numeric group shown for every file; undefined: the host's (HGFS groupId). */
  gid?: number;
  /** Permission bits taken away from directories (as FAT's dmask), e.g. 0o022. */
  dmask: number;
  /** Permission bits taken away from files. */
  fmask: number;
}

export type NodeKind = 'file' | 'dir' | 'symlink';

/** A node's fields, from one attribute record. */
export interface NodeFacts {
  kind: NodeKind;
  /** Plan 9 mode: DMDIR or DMSYMLINK and the permission bits. */
  mode: number;
  /**
   * The host lets us write it: its effective permissions say so when it gives them (a read-only
   * share never does), else some write bit is set. A share's root tells whether the share is.
   */
  writable: boolean;
  length: number;
  atime: number;
  mtime: number;
  nUid: number;
  nGid: number;
  /** The host's file id (an inode number), when it gave one. */
  fileId: bigint | undefined;
  /** qid.version: changes when the file's contents change. */
  version: number;
  /** The symlink's target, when the record carried it ('' = not known from this record). */
  target: string;
}

const U32_MAX = 0xffffffff;
const TICKS_PER_SECOND = 10_000_000n;
const has = (a: HgfsAttrV2, bit: bigint) => (a.mask & bit) !== 0n;

/** Seconds since the Unix epoch of an NT time, within a 9P stat's u32. */
function seconds(nt: bigint): number {
  const s = (nt - UNIX_EPOCH_NT) / TICKS_PER_SECOND;
  if (s < 0n) return 0;
  return s > BigInt(U32_MAX) ? U32_MAX : Number(s);
}

export function factsOf(attr: HgfsAttr, p: Presentation, what: string): NodeFacts {
  const kind: NodeKind | undefined =
    attr.type === HgfsFileType.REGULAR
      ? 'file'
      : attr.type === HgfsFileType.DIRECTORY
        ? 'dir'
        : attr.type === HgfsFileType.SYMLINK
          ? 'symlink'
          : undefined;
  if (!kind) throw new HgfsReplyError(what, `file type ${attr.type} is none of regular, directory, symlink`);
  if (has(attr, HgfsAttrValid.SIZE) && attr.size > BigInt(Number.MAX_SAFE_INTEGER))
    throw new HgfsReplyError(what, `a size of ${attr.size} bytes is past what a file can hold here (2^53)`);
  const size = has(attr, HgfsAttrValid.SIZE) ? Number(attr.size) : 0;
  // Permission classes the host left out are taken as granted to the owner alone, as vmhgfs-fuse
  // assumes (docs/protocol/tree.md §17).
  const owner = has(attr, HgfsAttrValid.OWNER_PERMS) ? attr.ownerPerms & 7 : 7;
  const group = has(attr, HgfsAttrValid.GROUP_PERMS) ? attr.groupPerms & 7 : 0;
  const other = has(attr, HgfsAttrValid.OTHER_PERMS) ? attr.otherPerms & 7 : 0;
  // What the host's own process may do (access(2) on the host): no WRITE there means no write
  // here whatever the mode says (every file of a read-only share), so the mode shows none.
  const effective = has(attr, HgfsAttrValid.EFFECTIVE_PERMS) ? attr.effectivePerms : undefined;
  const denyWrite = effective !== undefined && (effective & HgfsPermission.WRITE) === 0;
  const hostPerms = ((owner << 6) | (group << 3) | other) & (denyWrite ? ~0o222 : 0o777);
  const mode =
    kind === 'dir'
      ? (DMDIR | (hostPerms & ~p.dmask & 0o777)) >>> 0
      : kind === 'symlink'
        ? (DMSYMLINK | 0o777) >>> 0
        : hostPerms & ~p.fmask & 0o777;
  const mtime = has(attr, HgfsAttrValid.WRITE_TIME) ? seconds(attr.writeTime) : 0;
  const atime = has(attr, HgfsAttrValid.ACCESS_TIME) ? seconds(attr.accessTime) : mtime;
  const target = kind === 'symlink' ? attr.symlinkTarget : '';
  return {
    kind,
    mode,
    writable: !denyWrite && (hostPerms & 0o222) !== 0,
    length: kind === 'symlink' && target !== '' ? Buffer.byteLength(target) : size,
    atime,
    mtime,
    nUid: p.uid ?? (has(attr, HgfsAttrValid.USERID) ? attr.userId : 0),
    nGid: p.gid ?? (has(attr, HgfsAttrValid.GROUPID) ? attr.groupId : 0),
    fileId:
      has(attr, HgfsAttrValid.FILEID) || has(attr, HgfsAttrValid.NON_STATIC_FILEID)
        ? attr.hostFileId
        : undefined,
    version: Number((attr.writeTime ^ attr.size ^ (attr.attrChangeTime << 7n)) & 0xffffffffn),
    target,
  };
}

/** The low 48 bits of a qid path hold the host's file id (folded when longer); the high 16 the share. */
const FILE_ID_BITS = 48n;
const FILE_ID_MASK = (1n << FILE_ID_BITS) - 1n;

/**
 * qid.path of a host file: the share's number (1…65535) in the top 16 bits, the host's file id
 * below. The tree's own files take small numbers from its allocator, so they never meet these.
 */
export function qidPathOf(shareId: number, fileId: bigint): bigint {
  const folded = (fileId ^ (fileId >> FILE_ID_BITS) ^ (fileId >> (2n * FILE_ID_BITS))) & FILE_ID_MASK;
  return (BigInt(shareId & 0xffff) << FILE_ID_BITS) | folded;
}

/** A 9P attribute change as HGFS setattr fields (times in seconds become NT times). */
export function hgfsChanges(c: AttrChanges): SetAttrChanges {
  const out: SetAttrChanges = {};
  if (c.length !== undefined) out.size = BigInt(c.length);
  if (c.mode !== undefined) out.mode = c.mode & 0o7777;
  if (c.atime !== undefined) out.accessTime = unixNsToNtTime(BigInt(c.atime) * 1_000_000_000n);
  if (c.mtime !== undefined) out.writeTime = unixNsToNtTime(BigInt(c.mtime) * 1_000_000_000n);
  return out;
}
