import { Reader, Writer } from './bytes.js';
import { HGFS_FILE_NAME_V3_SIZE, HGFS_INVALID_HANDLE, HgfsCaseType, HgfsFileNameFlags } from './constants.js';
import { HgfsEncodeError } from './errors.js';
import type { FileNameV3 } from './messages.js';
import { encodeCPName, encodeCPNameLite, readCPName, readCPNameLite } from './names.js';

// `HgfsFileNameV3`: length u32 @0, flags u32 @4, caseType u32 @8, fid u32 @12, name @16, then one
// NUL not counted in length (docs/protocol/hgfs.md §5.2).

/** A FileNameV3 ready to write: its encoded name and the bytes it takes with its NUL. */
export interface PreparedName {
  readonly fn: FileNameV3;
  readonly bytes: Uint8Array;
  readonly size: number;
}

function byHandle(fn: FileNameV3): boolean {
  return (fn.flags & HgfsFileNameFlags.USE_FILE_DESC) !== 0;
}

/** Encodes the name of a request's FileNameV3 (a CPName; nothing when it names a handle). */
export function preparePathName(op: number | undefined, field: string, fn: FileNameV3): PreparedName {
  let bytes: Uint8Array;
  if (byHandle(fn)) {
    if (fn.path.length > 0)
      throw new HgfsEncodeError(op, field, 'a name by handle (USE_FILE_DESC) has no path');
    bytes = new Uint8Array(0);
  } else {
    bytes = encodeCPName(fn.path, field);
  }
  return { fn, bytes, size: HGFS_FILE_NAME_V3_SIZE + bytes.length + 1 };
}

/** How the two sides fill the other fields of a symlink target's FileNameV3. */
export const LITE_NAME_IN_REQUEST = { caseType: HgfsCaseType.SENSITIVE, fid: HGFS_INVALID_HANDLE } as const; // vmhgfs-fuse
export const LITE_NAME_IN_REPLY = { caseType: HgfsCaseType.DEFAULT, fid: 0 } as const; // open-vm-tools' server

/** A FileNameV3 holding a symlink target (CPNameLite). */
export function prepareLiteName(
  field: string,
  target: string,
  fill: { caseType: number; fid: number },
): PreparedName {
  const bytes = encodeCPNameLite(target, field);
  const fn: FileNameV3 = { path: [], flags: 0, caseType: fill.caseType, fid: fill.fid };
  return { fn, bytes, size: HGFS_FILE_NAME_V3_SIZE + bytes.length + 1 };
}

/** Writes a prepared name at `at`; returns where the next field starts. */
export function writeName(w: Writer, at: number, field: string, p: PreparedName): number {
  w.u32(`${field}.length`, at, p.bytes.length);
  w.u32(`${field}.flags`, at + 4, p.fn.flags);
  w.u32(`${field}.caseType`, at + 8, p.fn.caseType);
  w.u32(`${field}.fid`, at + 12, p.fn.fid);
  w.put(at + HGFS_FILE_NAME_V3_SIZE, p.bytes);
  return at + p.size; // the NUL is already 0
}

/**
 * Reads a request's FileNameV3 at `at` as open-vm-tools' server does: by handle, the name is not
 * looked at (the struct's one name byte must still be there); by name, the name and its NUL must
 * be present. Returns the name and where the next field starts.
 */
export function readPathName(r: Reader, at: number, field: string): { fn: FileNameV3; end: number } {
  r.need(field, at, HGFS_FILE_NAME_V3_SIZE + 1);
  const flags = r.u32(`${field}.flags`, at + 4);
  const caseType = r.u32(`${field}.caseType`, at + 8);
  const fid = r.u32(`${field}.fid`, at + 12);
  if ((flags & HgfsFileNameFlags.USE_FILE_DESC) !== 0) {
    return { fn: { path: [], flags, caseType, fid }, end: at + HGFS_FILE_NAME_V3_SIZE + 1 };
  }
  const length = r.u32(`${field}.length`, at);
  r.need(`${field}.name`, at + HGFS_FILE_NAME_V3_SIZE, length + 1);
  const path = readCPName(r, `${field}.name`, at + HGFS_FILE_NAME_V3_SIZE, length);
  return { fn: { path, flags, caseType, fid }, end: at + HGFS_FILE_NAME_V3_SIZE + length + 1 };
}

/** Reads a FileNameV3 holding a symlink target. `needNul`: whether its NUL must be present. */
export function readLiteName(
  r: Reader,
  at: number,
  field: string,
  needNul: boolean,
): { target: string; end: number } {
  r.need(field, at, HGFS_FILE_NAME_V3_SIZE);
  const flags = r.u32(`${field}.flags`, at + 4);
  if ((flags & HgfsFileNameFlags.USE_FILE_DESC) !== 0)
    r.fail(`${field}.flags`, at + 4, 'a symlink target by handle');
  const length = r.u32(`${field}.length`, at);
  r.need(`${field}.name`, at + HGFS_FILE_NAME_V3_SIZE, length + (needNul ? 1 : 0));
  const target = readCPNameLite(r, `${field}.name`, at + HGFS_FILE_NAME_V3_SIZE, length);
  return { target, end: at + HGFS_FILE_NAME_V3_SIZE + length + 1 };
}

/** The bytes of a request's FileNameV3 (fixed part, CPName, NUL). */
export function encodeFileNameV3(fn: FileNameV3): Uint8Array {
  const p = preparePathName(undefined, 'fileName', fn);
  const w = new Writer(p.size, undefined);
  writeName(w, 0, 'fileName', p);
  return w.bytes;
}

/** A request's FileNameV3 from the start of `bytes`, and how many bytes it took. */
export function decodeFileNameV3(bytes: Uint8Array): { fileName: FileNameV3; size: number } {
  const { fn, end } = readPathName(new Reader(bytes, undefined), 0, 'fileName');
  return { fileName: fn, size: end };
}
