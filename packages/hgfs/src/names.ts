import { Reader } from './bytes.js';
import { HGFS_NAME_MAX, HGFS_PATH_MAX } from './constants.js';
import { HgfsNameError } from './errors.js';

// CPName ("cross-platform name"): a path as its components joined by NUL bytes, share name
// first, no leading or trailing NUL; empty = the virtual root. CPNameLite (symlink targets):
// the target with each '/' replaced by a NUL, byte for byte. docs/protocol/hgfs.md §4.

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const SLASH = 0x2f;
const loneSurrogate = /\p{Surrogate}/u;

function utf8Bytes(s: string, field: string): Uint8Array {
  if (loneSurrogate.test(s))
    throw new HgfsNameError(s, 'has a lone UTF-16 surrogate (not valid UTF-8)', field);
  return utf8.encode(s);
}

/** Why a component cannot be sent, or undefined when it can. */
export function componentProblem(component: string): string | undefined {
  if (component.length === 0) return 'is empty';
  if (component === '.' || component === '..') return 'is a dot or dot-dot';
  if (component.includes('/')) return "contains '/'";
  if (component.includes('\0')) return 'contains NUL';
  return undefined;
}

/**
 * The CPName of a path given as components (share first). Throws HgfsNameError for a component
 * that is empty, '.', '..', holds '/' or NUL, is over HGFS_NAME_MAX bytes, or a whole name over
 * HGFS_PATH_MAX bytes.
 */
export function encodeCPName(path: readonly string[], field = 'fileName'): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  for (const component of path) {
    const problem = componentProblem(component);
    if (problem) throw new HgfsNameError(component, problem, field);
    const bytes = utf8Bytes(component, field);
    if (bytes.length > HGFS_NAME_MAX) {
      throw new HgfsNameError(component, `is ${bytes.length} bytes, over ${HGFS_NAME_MAX}`, field);
    }
    parts.push(bytes);
    size += bytes.length + (parts.length > 1 ? 1 : 0);
  }
  if (size > HGFS_PATH_MAX) {
    throw new HgfsNameError(path.join('/'), `is ${size} bytes, over ${HGFS_PATH_MAX}`, field);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const [i, part] of parts.entries()) {
    if (i > 0) at++; // the NUL separator (already 0)
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Decodes one name of at most `max` bytes as strict UTF-8, or fails naming the field. */
function readUtf8(r: Reader, field: string, offset: number, length: number): string {
  const bytes = r.slice(field, offset, length);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return r.fail(field, offset, 'is not valid UTF-8');
  }
}

/**
 * The components of the CPName of `length` bytes at `offset`. Fails (HgfsDecodeError naming
 * `field`) on an empty component (leading, trailing or doubled NUL), '.', '..', '/' in a
 * component, a component over HGFS_NAME_MAX bytes, invalid UTF-8, or more than HGFS_PATH_MAX bytes.
 */
export function readCPName(r: Reader, field: string, offset: number, length: number): string[] {
  if (length > HGFS_PATH_MAX) r.fail(field, offset, `is ${length} bytes, over ${HGFS_PATH_MAX}`);
  const bytes = r.slice(field, offset, length);
  const path: string[] = [];
  if (length === 0) return path;
  let start = 0;
  for (let i = 0; i <= length; i++) {
    if (i < length && bytes[i] !== 0) continue;
    const at = offset + start;
    const size = i - start;
    if (size === 0) r.fail(field, at, 'has an empty component (leading, trailing or doubled NUL)');
    if (size > HGFS_NAME_MAX) r.fail(field, at, `has a component of ${size} bytes, over ${HGFS_NAME_MAX}`);
    if (bytes.subarray(start, i).includes(SLASH)) r.fail(field, at, "has a component containing '/'");
    const component = readUtf8(r, field, at, size);
    if (component === '.' || component === '..') r.fail(field, at, `has a '${component}' component`);
    path.push(component);
    start = i + 1;
  }
  return path;
}

/** The components of a whole CPName (see readCPName for what is refused). */
export function decodeCPName(bytes: Uint8Array): string[] {
  return readCPName(new Reader(bytes, undefined), 'cpName', 0, bytes.length);
}

/**
 * One directory-entry name: a single component; '.' and '..' are allowed (a listing has them),
 * NUL and '/' are not.
 */
export function readEntryName(r: Reader, field: string, offset: number, length: number): string {
  if (length > HGFS_NAME_MAX) r.fail(field, offset, `is ${length} bytes, over ${HGFS_NAME_MAX}`);
  const bytes = r.slice(field, offset, length);
  if (bytes.includes(0)) r.fail(field, offset, 'contains NUL');
  if (bytes.includes(SLASH)) r.fail(field, offset, "contains '/'");
  return readUtf8(r, field, offset, length);
}

/** The bytes of a directory-entry name (see readEntryName). */
export function encodeEntryName(name: string, field = 'fileName'): Uint8Array {
  const problem = name === '.' || name === '..' ? undefined : componentProblem(name);
  if (problem) throw new HgfsNameError(name, problem, field);
  const bytes = utf8Bytes(name, field);
  if (bytes.length > HGFS_NAME_MAX) {
    throw new HgfsNameError(name, `is ${bytes.length} bytes, over ${HGFS_NAME_MAX}`, field);
  }
  return bytes;
}

/**
 * The CPNameLite form of a symlink target: every '/' becomes a NUL, nothing else changes (no
 * collapsing, no share name), so the target comes back exactly. A NUL in the target or more than
 * HGFS_PATH_MAX bytes is an HgfsNameError.
 */
export function encodeCPNameLite(target: string, field = 'targetName'): Uint8Array {
  if (target.includes('\0')) throw new HgfsNameError(target, 'contains NUL', field);
  const bytes = utf8Bytes(target, field);
  if (bytes.length > HGFS_PATH_MAX) {
    throw new HgfsNameError(target, `is ${bytes.length} bytes, over ${HGFS_PATH_MAX}`, field);
  }
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === SLASH) bytes[i] = 0;
  return bytes;
}

/** Reads a CPNameLite symlink target of `length` bytes (NUL → '/'). */
export function readCPNameLite(r: Reader, field: string, offset: number, length: number): string {
  if (length > HGFS_PATH_MAX) r.fail(field, offset, `is ${length} bytes, over ${HGFS_PATH_MAX}`);
  const bytes = r.slice(field, offset, length);
  if (bytes.includes(SLASH)) r.fail(field, offset, "contains '/' (separators travel as NUL)");
  const copy = Uint8Array.from(bytes, (b) => (b === 0 ? SLASH : b));
  try {
    return strictUtf8.decode(copy);
  } catch {
    return r.fail(field, offset, 'is not valid UTF-8');
  }
}

/** A symlink target from its CPNameLite bytes. */
export function decodeCPNameLite(bytes: Uint8Array): string {
  return readCPNameLite(new Reader(bytes, undefined), 'cpNameLite', 0, bytes.length);
}
