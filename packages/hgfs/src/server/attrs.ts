/**
 * File attributes as a Linux host reports them (docs/protocol/hgfs.md, "Server role", GETATTR_V3
 * and "Names and confinement"): lstat, never following
 * the last symlink; creation time = modification time (Linux has no portable birth time there);
 * dot-files flagged hidden; effective permissions from access(2), never write on a read-only share.
 */
import { accessSync, type BigIntStats, constants, lstatSync } from 'node:fs';
import { basename } from 'node:path';
import { emptyAttr, type HgfsAttrV2 } from '../attr.js';
import { HgfsAttrFlags, HgfsAttrValid, HgfsFileType, HgfsPermission } from '../constants.js';
import { unixNsToNtTime } from '../time.js';

const V = HgfsAttrValid;

/** The fields a host fills from stat(2). */
const STAT_MASK =
  V.TYPE |
  V.SIZE |
  V.ALLOCATION_SIZE |
  V.CREATE_TIME |
  V.ACCESS_TIME |
  V.WRITE_TIME |
  V.CHANGE_TIME |
  V.SPECIAL_PERMS |
  V.OWNER_PERMS |
  V.GROUP_PERMS |
  V.OTHER_PERMS |
  V.USERID |
  V.GROUPID |
  V.FILEID |
  V.VOLID;

/** What a host says of a directory that exists only in its name space (the root, `.`/`..` there). */
const VIRTUAL_DIR_MASK =
  V.TYPE |
  V.SIZE |
  V.CREATE_TIME |
  V.ACCESS_TIME |
  V.WRITE_TIME |
  V.CHANGE_TIME |
  V.SPECIAL_PERMS |
  V.OWNER_PERMS |
  V.GROUP_PERMS |
  V.OTHER_PERMS;

/** The size a Linux host gives its virtual directories (HgfsPlatformGetDefaultDirAttrs). */
export const VIRTUAL_DIR_SIZE = 4192n;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

function fileType(mode: number): number {
  const t = mode & S_IFMT;
  if (t === S_IFDIR) return HgfsFileType.DIRECTORY;
  if (t === S_IFLNK) return HgfsFileType.SYMLINK;
  return HgfsFileType.REGULAR;
}

/** Attributes from a stat result (bigint, for nanosecond times and 64-bit ids). */
export function attrFromStats(st: BigIntStats): HgfsAttrV2 {
  const mode = Number(st.mode);
  return {
    mask: STAT_MASK,
    type: fileType(mode),
    size: st.size,
    creationTime: unixNsToNtTime(st.mtimeNs),
    accessTime: unixNsToNtTime(st.atimeNs),
    writeTime: unixNsToNtTime(st.mtimeNs),
    attrChangeTime: unixNsToNtTime(st.ctimeNs),
    specialPerms: (mode >> 9) & 7,
    ownerPerms: (mode >> 6) & 7,
    groupPerms: (mode >> 3) & 7,
    otherPerms: mode & 7,
    flags: 0n,
    allocationSize: st.blocks * 512n,
    userId: Number(st.uid & 0xffffffffn),
    groupId: Number(st.gid & 0xffffffffn),
    hostFileId: st.ino,
    // The wire field is 32 bits; a Linux dev_t may be wider (the host truncates it too).
    volumeId: Number(st.dev & 0xffffffffn),
    effectivePerms: 0,
  };
}

/** What this process may do with a file, as access(2) says (never write on a read-only share). */
function effectivePerms(path: string, readOnlyShare: boolean): number {
  const can = (m: number) => {
    try {
      accessSync(path, m);
      return true;
    } catch {
      return false;
    }
  };
  let p = 0;
  if (can(constants.R_OK)) p |= HgfsPermission.READ;
  if (can(constants.X_OK)) p |= HgfsPermission.EXEC;
  if (!readOnlyShare && can(constants.W_OK)) p |= HgfsPermission.WRITE;
  return p;
}

/** A named file's attributes: lstat, the hidden flag for dot-files, effective permissions. Throws errno errors. */
export function attrOfPath(path: string, readOnlyShare: boolean): HgfsAttrV2 {
  const attr = attrFromStats(lstatSync(path, { bigint: true }));
  const name = basename(path);
  if (name.startsWith('.') && name !== '.' && name !== '..') {
    attr.mask |= V.FLAGS;
    attr.flags |= HgfsAttrFlags.HIDDEN | HgfsAttrFlags.HIDDEN_FORCED;
  }
  if (attr.type !== HgfsFileType.SYMLINK) {
    attr.mask |= V.EFFECTIVE_PERMS;
    attr.effectivePerms = effectivePerms(path, readOnlyShare);
  }
  return attr;
}

/** The attributes of a directory that exists only in the host's name space: r-x, host time now. */
export function virtualDirAttr(nowMs: number): HgfsAttrV2 {
  const t = unixNsToNtTime(BigInt(nowMs) * 1_000_000n);
  const rx = HgfsPermission.READ | HgfsPermission.EXEC;
  return {
    ...emptyAttr(),
    mask: VIRTUAL_DIR_MASK,
    type: HgfsFileType.DIRECTORY,
    size: VIRTUAL_DIR_SIZE,
    creationTime: t,
    accessTime: t,
    writeTime: t,
    attrChangeTime: t,
    ownerPerms: rx,
    groupPerms: rx,
    otherPerms: rx,
  };
}
