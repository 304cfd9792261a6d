import type { HgfsAttrV2 } from './attr.js';
import { HGFS_INVALID_HANDLE, HgfsCaseType, HgfsFileNameFlags, HgfsOp } from './constants.js';

// The operations this package encodes and decodes in both directions, as plain objects
// discriminated by `op`. Layouts: docs/protocol/hgfs.md §5.

/**
 * `HgfsFileNameV3`: a path (CPName components, share first; [] = the root of all shares) or,
 * with flags & USE_FILE_DESC, an open handle in `fid` (then `path` is [] and ignored).
 */
export interface FileNameV3 {
  path: string[];
  flags: number;
  caseType: number;
  fid: number;
}

/** A name by path, as vmhgfs-fuse sends it (flags 0, case sensitive, fid HGFS_INVALID_HANDLE). */
export function fileName(path: readonly string[]): FileNameV3 {
  return { path: [...path], flags: 0, caseType: HgfsCaseType.SENSITIVE, fid: HGFS_INVALID_HANDLE };
}

/** A name by open handle. */
export function fileHandle(fid: number): FileNameV3 {
  return { path: [], flags: HgfsFileNameFlags.USE_FILE_DESC, caseType: HgfsCaseType.DEFAULT, fid };
}

/** One directory entry of a SEARCH_READ_V3 reply: a single name ('.' and '..' included) and its attributes. */
export interface DirEntry {
  name: string;
  attr: HgfsAttrV2;
}

/** `HgfsOpCapability` of a session. */
export interface OpCapability {
  op: number;
  flags: number;
}

type Op = typeof HgfsOp;

export interface CreateSessionRequest {
  op: Op['CREATE_SESSION_V4'];
  maxPacketSize: number;
  flags: number;
  capabilities: OpCapability[];
}
export interface DestroySessionRequest {
  op: Op['DESTROY_SESSION_V4'];
}
export interface OpenRequest {
  op: Op['OPEN_V3'];
  mask: bigint;
  mode: number;
  flags: number;
  specialPerms: number;
  ownerPerms: number;
  groupPerms: number;
  otherPerms: number;
  attr: bigint;
  allocationSize: bigint;
  desiredAccess: number;
  shareAccess: number;
  desiredLock: number;
  fileName: FileNameV3;
}
export interface ReadRequest {
  op: Op['READ_V3'];
  file: number;
  offset: bigint;
  requiredSize: number;
}
export interface WriteRequest {
  op: Op['WRITE_V3'];
  file: number;
  flags: number;
  offset: bigint;
  /** requiredSize on the wire is data.length. */
  data: Uint8Array;
}
export interface CloseRequest {
  op: Op['CLOSE_V3'];
  file: number;
}
export interface SearchOpenRequest {
  op: Op['SEARCH_OPEN_V3'];
  dirName: FileNameV3;
}
export interface SearchReadRequest {
  op: Op['SEARCH_READ_V3'];
  search: number;
  /** Index of the first entry wanted (0-based). */
  offset: number;
  flags: number;
}
export interface SearchCloseRequest {
  op: Op['SEARCH_CLOSE_V3'];
  search: number;
}
export interface GetattrRequest {
  op: Op['GETATTR_V3'];
  hints: bigint;
  fileName: FileNameV3;
}
export interface SetattrRequest {
  op: Op['SETATTR_V3'];
  hints: bigint;
  attr: HgfsAttrV2;
  fileName: FileNameV3;
}
export interface CreateDirRequest {
  op: Op['CREATE_DIR_V3'];
  mask: bigint;
  specialPerms: number;
  ownerPerms: number;
  groupPerms: number;
  otherPerms: number;
  fileAttr: bigint;
  fileName: FileNameV3;
}
export interface DeleteRequest {
  op: Op['DELETE_FILE_V3'] | Op['DELETE_DIR_V3'];
  hints: bigint;
  fileName: FileNameV3;
}
export interface RenameRequest {
  op: Op['RENAME_V3'];
  hints: bigint;
  oldName: FileNameV3;
  newName: FileNameV3;
}
export interface QueryVolumeRequest {
  op: Op['QUERY_VOLUME_INFO_V3'];
  fileName: FileNameV3;
}
export interface CreateSymlinkRequest {
  op: Op['CREATE_SYMLINK_V3'];
  symlinkName: FileNameV3;
  /** The link's target, exactly (CPNameLite on the wire). */
  target: string;
}

export type HgfsRequest =
  | CreateSessionRequest
  | DestroySessionRequest
  | OpenRequest
  | ReadRequest
  | WriteRequest
  | CloseRequest
  | SearchOpenRequest
  | SearchReadRequest
  | SearchCloseRequest
  | GetattrRequest
  | SetattrRequest
  | CreateDirRequest
  | DeleteRequest
  | RenameRequest
  | QueryVolumeRequest
  | CreateSymlinkRequest;

export interface CreateSessionReply {
  op: Op['CREATE_SESSION_V4'];
  sessionId: bigint;
  maxPacketSize: number;
  flags: number;
  capabilities: OpCapability[];
}
export interface OpenReply {
  op: Op['OPEN_V3'];
  file: number;
  acquiredLock: number;
  flags: number;
}
export interface ReadReply {
  op: Op['READ_V3'];
  /** actualSize on the wire is data.length. */
  data: Uint8Array;
}
export interface WriteReply {
  op: Op['WRITE_V3'];
  actualSize: number;
}
export interface SearchOpenReply {
  op: Op['SEARCH_OPEN_V3'];
  search: number;
}
export interface SearchReadReply {
  op: Op['SEARCH_READ_V3'];
  entries: DirEntry[];
  /** No entries after these: count 0, or an entry with an empty name ended the reply. */
  end: boolean;
}
export interface GetattrReply {
  op: Op['GETATTR_V3'];
  attr: HgfsAttrV2;
  /** The link's target when attr.type is SYMLINK, else ''. */
  symlinkTarget: string;
}
export interface QueryVolumeReply {
  op: Op['QUERY_VOLUME_INFO_V3'];
  freeBytes: bigint;
  totalBytes: bigint;
}
/** Replies whose body is one reserved u64. */
export interface EmptyReply {
  op:
    | Op['DESTROY_SESSION_V4']
    | Op['CLOSE_V3']
    | Op['SEARCH_CLOSE_V3']
    | Op['SETATTR_V3']
    | Op['CREATE_DIR_V3']
    | Op['DELETE_FILE_V3']
    | Op['DELETE_DIR_V3']
    | Op['RENAME_V3']
    | Op['CREATE_SYMLINK_V3'];
}

export type HgfsReply =
  | CreateSessionReply
  | OpenReply
  | ReadReply
  | WriteReply
  | SearchOpenReply
  | SearchReadReply
  | GetattrReply
  | QueryVolumeReply
  | EmptyReply;

/** The ops with codecs here (V3 file ops and the V4 session ops). */
export type CodecOp = HgfsRequest['op'];
/** The request type of an op. */
export type RequestOf<O extends CodecOp> = Extract<HgfsRequest, { op: O }>;
/** The reply type of an op. */
export type ReplyOf<O extends CodecOp> = Extract<HgfsReply, { op: O }>;

export const CODEC_OPS: readonly CodecOp[] = [
  HgfsOp.CREATE_SESSION_V4,
  HgfsOp.DESTROY_SESSION_V4,
  HgfsOp.OPEN_V3,
  HgfsOp.READ_V3,
  HgfsOp.WRITE_V3,
  HgfsOp.CLOSE_V3,
  HgfsOp.SEARCH_OPEN_V3,
  HgfsOp.SEARCH_READ_V3,
  HgfsOp.SEARCH_CLOSE_V3,
  HgfsOp.GETATTR_V3,
  HgfsOp.SETATTR_V3,
  HgfsOp.CREATE_DIR_V3,
  HgfsOp.DELETE_FILE_V3,
  HgfsOp.DELETE_DIR_V3,
  HgfsOp.RENAME_V3,
  HgfsOp.QUERY_VOLUME_INFO_V3,
  HgfsOp.CREATE_SYMLINK_V3,
];

const codecOps: ReadonlySet<number> = new Set(CODEC_OPS);

/** Whether this package encodes and decodes `op`. */
export function isCodecOp(op: number): op is CodecOp {
  return codecOps.has(op);
}
