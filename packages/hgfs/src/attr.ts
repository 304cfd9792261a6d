import { Reader, Writer } from './bytes.js';
import { HGFS_ATTR_V2_SIZE, HgfsAttrValid, HgfsFileType } from './constants.js';

/**
 * `HgfsAttrV2`, 104 bytes (docs/protocol/hgfs.md §5.1). Times are NT times. `mask` says which
 * fields hold values (HgfsAttrValid); the trailing reserved u64 is written as 0 and not kept.
 */
export interface HgfsAttrV2 {
  mask: bigint;
  type: number;
  size: bigint;
  creationTime: bigint;
  accessTime: bigint;
  writeTime: bigint;
  attrChangeTime: bigint;
  specialPerms: number;
  ownerPerms: number;
  groupPerms: number;
  otherPerms: number;
  flags: bigint;
  allocationSize: bigint;
  userId: number;
  groupId: number;
  hostFileId: bigint;
  volumeId: number;
  effectivePerms: number;
}

/** An attribute record with nothing valid (mask 0, every field 0). */
export function emptyAttr(): HgfsAttrV2 {
  return {
    mask: 0n,
    type: 0,
    size: 0n,
    creationTime: 0n,
    accessTime: 0n,
    writeTime: 0n,
    attrChangeTime: 0n,
    specialPerms: 0,
    ownerPerms: 0,
    groupPerms: 0,
    otherPerms: 0,
    flags: 0n,
    allocationSize: 0n,
    userId: 0,
    groupId: 0,
    hostFileId: 0n,
    volumeId: 0,
    effectivePerms: 0,
  };
}

export function writeAttrV2(w: Writer, at: number, a: HgfsAttrV2, field = 'attr'): void {
  w.u64(`${field}.mask`, at, a.mask);
  w.u32(`${field}.type`, at + 8, a.type);
  w.u64(`${field}.size`, at + 12, a.size);
  w.u64(`${field}.creationTime`, at + 20, a.creationTime);
  w.u64(`${field}.accessTime`, at + 28, a.accessTime);
  w.u64(`${field}.writeTime`, at + 36, a.writeTime);
  w.u64(`${field}.attrChangeTime`, at + 44, a.attrChangeTime);
  w.u8(`${field}.specialPerms`, at + 52, a.specialPerms);
  w.u8(`${field}.ownerPerms`, at + 53, a.ownerPerms);
  w.u8(`${field}.groupPerms`, at + 54, a.groupPerms);
  w.u8(`${field}.otherPerms`, at + 55, a.otherPerms);
  w.u64(`${field}.flags`, at + 56, a.flags);
  w.u64(`${field}.allocationSize`, at + 64, a.allocationSize);
  w.u32(`${field}.userId`, at + 72, a.userId);
  w.u32(`${field}.groupId`, at + 76, a.groupId);
  w.u64(`${field}.hostFileId`, at + 80, a.hostFileId);
  w.u32(`${field}.volumeId`, at + 88, a.volumeId);
  w.u32(`${field}.effectivePerms`, at + 92, a.effectivePerms);
  // reserved2 @96 stays 0
}

export function readAttrV2(r: Reader, at: number, field = 'attr'): HgfsAttrV2 {
  r.need(field, at, HGFS_ATTR_V2_SIZE);
  return {
    mask: r.u64(`${field}.mask`, at),
    type: r.u32(`${field}.type`, at + 8),
    size: r.u64(`${field}.size`, at + 12),
    creationTime: r.u64(`${field}.creationTime`, at + 20),
    accessTime: r.u64(`${field}.accessTime`, at + 28),
    writeTime: r.u64(`${field}.writeTime`, at + 36),
    attrChangeTime: r.u64(`${field}.attrChangeTime`, at + 44),
    specialPerms: r.u8(`${field}.specialPerms`, at + 52),
    ownerPerms: r.u8(`${field}.ownerPerms`, at + 53),
    groupPerms: r.u8(`${field}.groupPerms`, at + 54),
    otherPerms: r.u8(`${field}.otherPerms`, at + 55),
    flags: r.u64(`${field}.flags`, at + 56),
    allocationSize: r.u64(`${field}.allocationSize`, at + 64),
    userId: r.u32(`${field}.userId`, at + 72),
    groupId: r.u32(`${field}.groupId`, at + 76),
    hostFileId: r.u64(`${field}.hostFileId`, at + 80),
    volumeId: r.u32(`${field}.volumeId`, at + 88),
    effectivePerms: r.u32(`${field}.effectivePerms`, at + 92),
  };
}

/** The four HGFS permission bytes of a Unix mode (only its 0o7777 bits count). */
export interface HgfsPerms {
  specialPerms: number;
  ownerPerms: number;
  groupPerms: number;
  otherPerms: number;
}

/** Splits a Unix mode into HGFS permission bytes: HGFS perms are the Unix bits, per class. */
export function permsFromMode(mode: number): HgfsPerms {
  return {
    specialPerms: (mode >> 9) & 7,
    ownerPerms: (mode >> 6) & 7,
    groupPerms: (mode >> 3) & 7,
    otherPerms: mode & 7,
  };
}

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/**
 * The Unix mode of an attribute record: its file type bits and the permission bits the record
 * says are valid (an invalid class counts as 0).
 */
export function modeFromAttr(a: HgfsAttrV2): number {
  const typeBits =
    a.type === HgfsFileType.DIRECTORY ? S_IFDIR : a.type === HgfsFileType.SYMLINK ? S_IFLNK : S_IFREG;
  const has = (bit: bigint) => (a.mask & bit) !== 0n;
  return (
    typeBits |
    (has(HgfsAttrValid.SPECIAL_PERMS) ? (a.specialPerms & 7) << 9 : 0) |
    (has(HgfsAttrValid.OWNER_PERMS) ? (a.ownerPerms & 7) << 6 : 0) |
    (has(HgfsAttrValid.GROUP_PERMS) ? (a.groupPerms & 7) << 3 : 0) |
    (has(HgfsAttrValid.OTHER_PERMS) ? a.otherPerms & 7 : 0)
  );
}

/** The 104 bytes of an attribute record. */
export function encodeAttrV2(a: HgfsAttrV2): Uint8Array {
  const w = new Writer(HGFS_ATTR_V2_SIZE, undefined);
  writeAttrV2(w, 0, a);
  return w.bytes;
}

/** An attribute record from its first 104 bytes (HgfsDecodeError when shorter). */
export function decodeAttrV2(bytes: Uint8Array): HgfsAttrV2 {
  return readAttrV2(new Reader(bytes, undefined), 0);
}
