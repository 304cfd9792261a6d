// The numbers of the HGFS protocol, one home for each (docs/protocol/hgfs.md §2). Other packages
// import these instead of writing their own.

/** Operation codes (`HgfsOp`, a u32 on the wire). 0..13 V1, 14..23 V2, 24..40 V3, 41..64 V4. */
export const HgfsOp = {
  OPEN: 0,
  READ: 1,
  WRITE: 2,
  CLOSE: 3,
  SEARCH_OPEN: 4,
  SEARCH_READ: 5,
  SEARCH_CLOSE: 6,
  GETATTR: 7,
  SETATTR: 8,
  CREATE_DIR: 9,
  DELETE_FILE: 10,
  DELETE_DIR: 11,
  RENAME: 12,
  QUERY_VOLUME_INFO: 13,
  OPEN_V2: 14,
  GETATTR_V2: 15,
  SETATTR_V2: 16,
  SEARCH_READ_V2: 17,
  CREATE_SYMLINK: 18,
  SERVER_LOCK_CHANGE: 19,
  CREATE_DIR_V2: 20,
  DELETE_FILE_V2: 21,
  DELETE_DIR_V2: 22,
  RENAME_V2: 23,
  OPEN_V3: 24,
  READ_V3: 25,
  WRITE_V3: 26,
  CLOSE_V3: 27,
  SEARCH_OPEN_V3: 28,
  SEARCH_READ_V3: 29,
  SEARCH_CLOSE_V3: 30,
  GETATTR_V3: 31,
  SETATTR_V3: 32,
  CREATE_DIR_V3: 33,
  DELETE_FILE_V3: 34,
  DELETE_DIR_V3: 35,
  RENAME_V3: 36,
  QUERY_VOLUME_INFO_V3: 37,
  CREATE_SYMLINK_V3: 38,
  SERVER_LOCK_CHANGE_V3: 39,
  WRITE_WIN32_STREAM_V3: 40,
  CREATE_SESSION_V4: 41,
  DESTROY_SESSION_V4: 42,
  READ_FAST_V4: 43,
  WRITE_FAST_V4: 44,
  SET_WATCH_V4: 45,
  REMOVE_WATCH_V4: 46,
  NOTIFY_V4: 47,
  SEARCH_READ_V4: 48,
  OPEN_V4: 49,
  ENUMERATE_STREAMS_V4: 50,
  GETATTR_V4: 51,
  SETATTR_V4: 52,
  DELETE_V4: 53,
  LINKMOVE_V4: 54,
  FSCTL_V4: 55,
  ACCESS_CHECK_V4: 56,
  FSYNC_V4: 57,
  QUERY_VOLUME_INFO_V4: 58,
  OPLOCK_ACQUIRE_V4: 59,
  OPLOCK_BREAK_V4: 60,
  LOCK_BYTE_RANGE_V4: 61,
  UNLOCK_BYTE_RANGE_V4: 62,
  QUERY_EAS_V4: 63,
  SET_EAS_V4: 64,
  /** Not an operation: the u32 at offset 4 of a packet with the 52-byte header. */
  NEW_HEADER: 0xff,
} as const;
export type HgfsOpName = keyof typeof HgfsOp;

/** One past the last operation (`HGFS_OP_MAX`). */
export const HGFS_OP_MAX = 65;
/** First op of each generation: below V2 is V1, below V3 is V2, and so on (the server's dispatch rule). */
export const HGFS_FIRST_V2_OP = HgfsOp.OPEN_V2;
export const HGFS_FIRST_V3_OP = HgfsOp.OPEN_V3;
export const HGFS_FIRST_V4_OP = HgfsOp.CREATE_SESSION_V4;

const opNames: string[] = [];
for (const [name, value] of Object.entries(HgfsOp)) opNames[value] = name;

/** 'OPEN_V3', or 'op 99' for a number that is no operation. */
export function opName(op: number): string {
  return opNames[op] ?? `op ${op}`;
}

/** Reply status codes (`HgfsStatus`, a u32). 17..19 exist only with the V4 header. */
export const HgfsStatus = {
  SUCCESS: 0,
  NO_SUCH_FILE_OR_DIR: 1,
  INVALID_HANDLE: 2,
  OPERATION_NOT_PERMITTED: 3,
  FILE_EXISTS: 4,
  NOT_DIRECTORY: 5,
  DIR_NOT_EMPTY: 6,
  PROTOCOL_ERROR: 7,
  ACCESS_DENIED: 8,
  INVALID_NAME: 9,
  GENERIC_ERROR: 10,
  SHARING_VIOLATION: 11,
  NO_SPACE: 12,
  OPERATION_NOT_SUPPORTED: 13,
  NAME_TOO_LONG: 14,
  INVALID_PARAMETER: 15,
  NOT_SAME_DEVICE: 16,
  STALE_SESSION: 17,
  TOO_MANY_SESSIONS: 18,
  TRANSPORT_ERROR: 19,
} as const;
export type HgfsStatusName = keyof typeof HgfsStatus;

const statusNames: string[] = [];
for (const [name, value] of Object.entries(HgfsStatus)) statusNames[value] = name;

/** 'NO_SUCH_FILE_OR_DIR', or 'status 42' for an unknown code. */
export function statusName(status: number): string {
  return statusNames[status] ?? `status ${status}`;
}

/** A Linux errno: its symbolic name and number. */
export interface Errno {
  readonly code: string;
  readonly errno: number;
}

const ENOENT: Errno = { code: 'ENOENT', errno: 2 };
const EIO: Errno = { code: 'EIO', errno: 5 };
const EACCES: Errno = { code: 'EACCES', errno: 13 };
// The mapping vmhgfs-fuse applies (docs/protocol/hgfs.md §2.3), plus the two statuses with an
// obvious errno it leaves to EIO (INVALID_PARAMETER, NOT_SAME_DEVICE); the rest become EIO.
const statusErrnos: ReadonlyMap<number, Errno> = new Map<number, Errno>([
  [HgfsStatus.SUCCESS, { code: 'OK', errno: 0 }],
  [HgfsStatus.NO_SUCH_FILE_OR_DIR, ENOENT],
  [HgfsStatus.INVALID_NAME, ENOENT],
  [HgfsStatus.INVALID_HANDLE, { code: 'EBADF', errno: 9 }],
  [HgfsStatus.OPERATION_NOT_PERMITTED, { code: 'EPERM', errno: 1 }],
  [HgfsStatus.FILE_EXISTS, { code: 'EEXIST', errno: 17 }],
  [HgfsStatus.NOT_DIRECTORY, { code: 'ENOTDIR', errno: 20 }],
  [HgfsStatus.DIR_NOT_EMPTY, { code: 'ENOTEMPTY', errno: 39 }],
  [HgfsStatus.PROTOCOL_ERROR, { code: 'EPROTO', errno: 71 }],
  [HgfsStatus.ACCESS_DENIED, EACCES],
  [HgfsStatus.SHARING_VIOLATION, EACCES],
  [HgfsStatus.NO_SPACE, { code: 'ENOSPC', errno: 28 }],
  [HgfsStatus.OPERATION_NOT_SUPPORTED, { code: 'EOPNOTSUPP', errno: 95 }],
  [HgfsStatus.NAME_TOO_LONG, { code: 'ENAMETOOLONG', errno: 36 }],
  [HgfsStatus.GENERIC_ERROR, EIO],
  [HgfsStatus.INVALID_PARAMETER, { code: 'EINVAL', errno: 22 }],
  [HgfsStatus.NOT_SAME_DEVICE, { code: 'EXDEV', errno: 18 }],
]);

/** The Linux error a status stands for, as vmhgfs-fuse maps it (unknown → EIO; see above). */
export function statusErrno(status: number): Errno {
  return statusErrnos.get(status) ?? EIO;
}

/** `HgfsFileType` (u32). */
export const HgfsFileType = { REGULAR: 0, DIRECTORY: 1, SYMLINK: 2 } as const;

/** `HgfsOpenMode` (u32): an access mode in the low two bits, plus SEQUENTIAL. */
export const HgfsOpenMode = {
  READ_ONLY: 0,
  WRITE_ONLY: 1,
  READ_WRITE: 2,
  /** Mask of the access-mode bits. */
  ACCMODES: 3,
  SEQUENTIAL: 4,
} as const;

/** `HgfsOpenFlags` (u32): what OPEN does when the file does or does not exist. */
export const HgfsOpenFlags = {
  /** Must exist. */
  OPEN: 0,
  /** Must exist; truncated. */
  OPEN_EMPTY: 1,
  /** Created if missing. */
  OPEN_CREATE: 2,
  /** Created; fails if it exists. */
  OPEN_CREATE_SAFE: 3,
  /** Created if missing, truncated if it exists. */
  OPEN_CREATE_EMPTY: 4,
} as const;

/** `HgfsOpenValid` (u64): which OPEN_V3 fields are meaningful. */
export const HgfsOpenValid = {
  MODE: 1n << 0n,
  FLAGS: 1n << 1n,
  SPECIAL_PERMS: 1n << 2n,
  OWNER_PERMS: 1n << 3n,
  GROUP_PERMS: 1n << 4n,
  OTHER_PERMS: 1n << 5n,
  FILE_ATTR: 1n << 6n,
  ALLOCATION_SIZE: 1n << 7n,
  DESIRED_ACCESS: 1n << 8n,
  SHARE_ACCESS: 1n << 9n,
  SERVER_LOCK: 1n << 10n,
  FILE_NAME: 1n << 11n,
  EA: 1n << 12n,
  ACL: 1n << 13n,
  STREAM_NAME: 1n << 14n,
} as const;

/** `HgfsAttrValid` (u64): which HgfsAttrV2 fields are meaningful. */
export const HgfsAttrValid = {
  TYPE: 1n << 0n,
  SIZE: 1n << 1n,
  CREATE_TIME: 1n << 2n,
  ACCESS_TIME: 1n << 3n,
  WRITE_TIME: 1n << 4n,
  CHANGE_TIME: 1n << 5n,
  SPECIAL_PERMS: 1n << 6n,
  OWNER_PERMS: 1n << 7n,
  GROUP_PERMS: 1n << 8n,
  OTHER_PERMS: 1n << 9n,
  FLAGS: 1n << 10n,
  ALLOCATION_SIZE: 1n << 11n,
  USERID: 1n << 12n,
  GROUPID: 1n << 13n,
  FILEID: 1n << 14n,
  VOLID: 1n << 15n,
  NON_STATIC_FILEID: 1n << 16n,
  EFFECTIVE_PERMS: 1n << 17n,
  EXTEND_ATTR_SIZE: 1n << 18n,
  REPARSE_POINT: 1n << 19n,
  SHORT_NAME: 1n << 20n,
} as const;

/** `HgfsAttrFlags` (u64): Windows-style attribute bits of a file. */
export const HgfsAttrFlags = {
  HIDDEN: 1n << 0n,
  SYSTEM: 1n << 1n,
  ARCHIVE: 1n << 2n,
  HIDDEN_FORCED: 1n << 3n,
  REPARSE_POINT: 1n << 4n,
  COMPRESSED: 1n << 5n,
  ENCRYPTED: 1n << 6n,
  OFFLINE: 1n << 7n,
  READONLY: 1n << 8n,
  SPARSE: 1n << 9n,
  TEMPORARY: 1n << 10n,
  SEQUENTIAL_ONLY: 1n << 11n,
} as const;

/** `HgfsCreateDirValid` (u64): which CREATE_DIR_V3 fields are meaningful. */
export const HgfsCreateDirValid = {
  SPECIAL_PERMS: 1n << 0n,
  OWNER_PERMS: 1n << 1n,
  GROUP_PERMS: 1n << 2n,
  OTHER_PERMS: 1n << 3n,
  FILE_NAME: 1n << 4n,
  FILE_ATTR: 1n << 5n,
} as const;

/** `HgfsAttrHint` (u64) of GETATTR/SETATTR. */
export const HgfsAttrHint = {
  /** SETATTR: set the access time even without a valid value (to "now"). */
  SET_ACCESS_TIME: 1n << 0n,
  /** SETATTR: set the write time even without a valid value (to "now"). */
  SET_WRITE_TIME: 1n << 1n,
  /** The file is named by its handle (fileName.fid), not by its name. */
  USE_FILE_DESC: 1n << 2n,
} as const;

/** `HgfsDeleteHint` (u64). */
export const HgfsDeleteHint = { USE_FILE_DESC: 1n << 0n } as const;

/** `HgfsRenameHint` (u64). */
export const HgfsRenameHint = {
  USE_SRCFILE_DESC: 1n << 0n,
  USE_TARGETFILE_DESC: 1n << 1n,
  NO_REPLACE_EXISTING: 1n << 2n,
  NO_COPY_ALLOWED: 1n << 3n,
} as const;

/** `HgfsFileNameV3.flags`. */
export const HgfsFileNameFlags = { USE_FILE_DESC: 1 } as const;

/** `HgfsCaseType` (u32). */
export const HgfsCaseType = { DEFAULT: 0, SENSITIVE: 1, INSENSITIVE: 2 } as const;

/** `HgfsPermissions` (u8 per class: special, owner, group, other). */
export const HgfsPermission = { READ: 4, WRITE: 2, EXEC: 1 } as const;

/** `HgfsLockType` (u32). */
export const HgfsLockType = {
  NONE: 0,
  OPPORTUNISTIC: 1,
  EXCLUSIVE: 2,
  SHARED: 3,
  BATCH: 4,
  LEASE: 5,
} as const;

/** `HgfsWriteFlags` (u8). */
export const HgfsWriteFlags = { APPEND: 1 } as const;

/** `HgfsReplyOpenFlags` (u32) of the OPEN_V3 reply. */
export const HgfsOpenReplyFlags = { ALLOC_DISK_SPACE: 1, LOCKED_FILE: 2 } as const;

/** `HgfsSessionFlags` (u32) of CREATE_SESSION_V4. */
export const HgfsSessionFlags = {
  MAXPACKETSIZE_VALID: 1,
  CHANGENOTIFY_ENABLED: 2,
  OPLOCK_ENABLED: 4,
  ASYNC_IO_ENABLED: 8,
} as const;

/** `HgfsOpCapFlags` (u32) of a session capability. Bits 16 and up are op specific. */
export const HgfsOpCapFlags = { NOT_SUPPORTED: 0, IS_SUPPORTED: 1, ASYNCHRONOUS: 2 } as const;

/** `HgfsHeader.flags`. */
export const HgfsPacketFlags = { REQUEST: 1, REPLY: 2, INFO_EXTERROR: 4 } as const;

/** `HgfsSearchReadFlags` (u32; defined for SEARCH_READ_V4, see docs/protocol/hgfs.md §2.4 and §6). */
export const HgfsSearchReadFlags = {
  INITIAL_QUERY: 1 << 1,
  SINGLE_ENTRY: 1 << 2,
  FID_OPEN_V4: 1 << 3,
  REPLY_FINAL_ENTRY: 1 << 4,
} as const;

/** Packet for V1/V2 ops, and the budget of one SEARCH_READ_V3 reply on open-vm-tools' server. */
export const HGFS_PACKET_MAX = 6144;
/** Bytes of file data in a V1/V2 READ/WRITE. */
export const HGFS_IO_MAX = 4096;
/** Room reserved for headers on top of the I/O size in the large-packet limits. */
export const HGFS_HEADER_SIZE_MAX = 2048;
/** 127 pages of data. */
export const HGFS_LARGE_IO_MAX = 4096 * 127;
/** Large packets: when the host allows them (guestinfo `hgfs.packetSize.large`, default true). */
export const HGFS_LARGE_PACKET_MAX = HGFS_LARGE_IO_MAX + HGFS_HEADER_SIZE_MAX;
/** 15 pages of data. */
export const HGFS_LEGACY_LARGE_IO_MAX = 4096 * 15;
/** Packets when large ones are not allowed, and without a session (0xF800). */
export const HGFS_LEGACY_LARGE_PACKET_MAX = HGFS_LEGACY_LARGE_IO_MAX + HGFS_HEADER_SIZE_MAX;

/** Size of the V4 header (`HgfsHeader`). */
export const HGFS_HEADER_SIZE = 52;
/** Size of the legacy header (`HgfsRequest` {id, op} / `HgfsReply` {id, status}). */
export const HGFS_LEGACY_HEADER_SIZE = 8;
/** The header version we send; a server accepts any version ≥ 1. */
export const HGFS_HEADER_VERSION = 1;

export const HGFS_INVALID_HANDLE = 0xffffffff;
export const HGFS_INVALID_SESSION_ID = 0xffffffffffffffffn;
/** Sessions one transport may hold on open-vm-tools' server (MAX_SESSION_COUNT). */
export const HGFS_MAX_SESSIONS = 1024;

/**
 * sizeof(HgfsReplyReadV3) as open-vm-tools' server counts it for a READ_V3 reply besides the data:
 * 13, its one-byte `payload[1]` included (the data itself starts at 12). The largest READ_V3 it
 * answers is packet − header − 13 (docs/protocol/hgfs.md, "Packet sizes").
 */
export const HGFS_READ_REPLY_V3_SIZE = 13;
/**
 * sizeof(HgfsRequestWriteV3), its one-byte `payload[1]` included: the least WRITE_V3 body
 * open-vm-tools' server takes, a zero-byte write's too (docs/protocol/hgfs.md §5.3).
 */
export const HGFS_WRITE_REQUEST_V3_SIZE = 26;

/** Size of `HgfsAttrV2`. */
export const HGFS_ATTR_V2_SIZE = 104;
/** Fixed part of `HgfsFileNameV3` (length, flags, caseType, fid) before the name bytes. */
export const HGFS_FILE_NAME_V3_SIZE = 16;

/** The RPCI command a guest sends an HGFS request with: 'f ' then the packet. */
export const HGFS_RPC_COMMAND = 'f ';

/** Longest path component in bytes (Linux NAME_MAX; vmhgfs-fuse skips longer names). */
export const HGFS_NAME_MAX = 255;
/** Longest CPName in bytes we send or accept (Linux PATH_MAX). */
export const HGFS_PATH_MAX = 4096;
