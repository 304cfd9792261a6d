// The serialised clipboard (CPClipboard) that copy/paste and drag-and-drop messages carry as
// their binary, and the file list inside it (docs/protocol/dndcp.md §5).

import { isUtf8 } from 'node:buffer';
import { CP_ITEM_MAX, CpFormat, type CpFormatId, formatName, isCpFormatId } from './constants.js';
import { DndCpDecodeError, DndCpEncodeError, DndCpLimitError } from './errors.js';

export interface CpClipboard {
  /** Items by format; an empty buffer counts as absent (§5.2). */
  items: Map<CpFormatId, Buffer>;
  /** False only in the "not changed" answer (§6.1). */
  changed: boolean;
}

export function emptyClipboard(changed = true): CpClipboard {
  return { items: new Map(), changed };
}

/** Serialised size of a clipboard without items: maxFmt, 10 × (exists, size), changed (§5.2). */
const EMPTY_SIZE = 4 + (CpFormat.MAX - 1) * 5 + 1;

/**
 * Serialises as current open-vm-tools does (§5.2): maxFmt 11, then for formats 1..10 a 1-byte
 * exists, a 4-byte size and the bytes, then the 1-byte changed flag. An empty item is written as
 * absent (a reader ignores an item of size 0 anyway).
 */
export function encodeClipboard(c: CpClipboard): Buffer {
  for (const f of c.items.keys())
    if (!isCpFormatId(f))
      throw new DndCpEncodeError('clipboard', `${formatName(f)} is not a clipboard format`);
  const size = EMPTY_SIZE + clipboardSize(c);
  const b = Buffer.alloc(size);
  let at = b.writeUInt32LE(CpFormat.MAX, 0);
  for (let f = 1; f < CpFormat.MAX; f++) {
    const item = c.items.get(f as CpFormatId);
    if (item && item.length > 0) {
      at = b.writeUInt8(1, at);
      at = b.writeUInt32LE(item.length, at);
      b.set(item, at);
      at += item.length;
    } else {
      at += 5;
    }
  }
  b.writeUInt8(c.changed ? 1 : 0, at);
  return b;
}

/** The 55-byte clipboard that says "not changed since you last asked" (§6.1). */
export const NOT_CHANGED_CLIPBOARD: Buffer = encodeClipboard(emptyClipboard(false));

/**
 * When a clipboard's items add up to its limit or more, formats are dropped in this order until
 * they fit (§5.3); the file formats are never dropped.
 */
const DROP_ORDER: readonly CpFormatId[] = [
  CpFormat.FILECONTENTS,
  CpFormat.ART_GVML,
  CpFormat.BIFF12,
  CpFormat.HTML,
  CpFormat.IMG_PNG,
  CpFormat.RTF,
  CpFormat.TEXT,
];

/**
 * Decodes a clipboard by the rules of open-vm-tools' reader (§5.2–§5.3): maxFmt clamped to 11
 * (records of formats past 10 are left unread), an item only when exists ≠ 0 and size ≠ 0 (then
 * its bytes follow; otherwise none do), every item below `maxSize` and TEXT valid UTF-8, the
 * drop order applied after each item, and the `changed` byte read only when exactly one byte is
 * left (default true). Throws DndCpDecodeError; the items are copies.
 */
export function decodeClipboard(bytes: Uint8Array, maxSize: number = CP_ITEM_MAX): CpClipboard {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < 4)
    throw new DndCpDecodeError('clipboard.maxFmt', `${b.length} bytes, too short for the format count`, 0);
  const maxFmt = Math.min(CpFormat.MAX, b.readUInt32LE(0));
  const items = new Map<CpFormatId, Buffer>();
  let total = 0;
  let at = 4;
  for (let f = 1; f < maxFmt; f++) {
    const fmt = f as CpFormatId;
    const field = `clipboard.${formatName(fmt)}`;
    if (b.length - at < 5) throw new DndCpDecodeError(field, 'the exists and size fields are cut short', at);
    const exists = b[at] !== 0;
    const size = b.readUInt32LE(at + 1);
    at += 5;
    if (!exists || size === 0) continue;
    if (size > b.length - at)
      throw new DndCpDecodeError(
        field,
        `item of ${size} bytes, but only ${b.length - at} bytes are left`,
        at - 4,
      );
    if (size >= maxSize)
      throw new DndCpDecodeError(
        field,
        `item of ${size} bytes; items must be below ${maxSize} bytes`,
        at - 4,
      );
    const data = b.subarray(at, at + size);
    if (fmt === CpFormat.TEXT && !isUtf8(data))
      throw new DndCpDecodeError(field, 'text is not valid UTF-8', at);
    items.set(fmt, Buffer.from(data));
    total += size;
    at += size;
    for (let i = 0; total >= maxSize && i < DROP_ORDER.length; i++) {
      const drop = DROP_ORDER[i] as CpFormatId;
      total -= items.get(drop)?.length ?? 0;
      items.delete(drop);
    }
  }
  const changed = b.length - at === 1 ? b[at] !== 0 : true;
  // Map order is format order, whatever the drops did.
  const sorted = new Map([...items].sort(([x], [y]) => x - y));
  return { items: sorted, changed };
}

/** Sum of the item sizes. */
export function clipboardSize(c: CpClipboard): number {
  let n = 0;
  for (const item of c.items.values()) n += item.length;
  return n;
}

/**
 * Throws DndCpLimitError unless every item and the total stay below `maxSize` (§5.3): a larger
 * clipboard would be refused (an item) or cut down (the total) by the receiver.
 */
export function assertClipboardFits(
  c: CpClipboard,
  maxSize: number = CP_ITEM_MAX,
  whose: 'host' | 'guest' = 'host',
): void {
  for (const [f, item] of c.items) {
    // Checked here, not first at encoding: a copy taken now must be sendable when the host asks.
    if (!isCpFormatId(f))
      throw new DndCpEncodeError('clipboard', `${formatName(f)} is not a clipboard format`);
    if (item.length >= maxSize)
      throw new DndCpLimitError(`clipboard item ${formatName(f)}`, item.length, maxSize - 1, whose);
  }
  const total = clipboardSize(c);
  if (total >= maxSize) throw new DndCpLimitError('clipboard', total, maxSize - 1, whose);
}

/** A TEXT item: the UTF-8 bytes and one trailing NUL, as the X11 guest sends text (§5.1). */
export function textItem(text: string | Uint8Array): Buffer {
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const b = Buffer.alloc(body.length + 1);
  b.set(body, 0);
  return b;
}

/** The text of a TEXT (or RTF) item: its bytes without ONE trailing NUL, when there is one. */
export function itemText(item: Uint8Array): Buffer {
  const end = item.length > 0 && item[item.length - 1] === 0 ? item.length - 1 : item.length;
  return Buffer.from(item.subarray(0, end));
}

/** The FILELIST item (§5.4). */
export interface CpFileList {
  /** Total bytes of all the files (the receiver's progress and disk-space check). */
  totalSize: bigint;
  /** The last component of each top-level item. */
  relNames: string[];
  /** Where each is on the sender, as CPName bytes (`root`, NUL, components separated by NUL). */
  fullPaths: Buffer[];
}

const FILELIST_HEADER = 16;

export function encodeFileList(l: CpFileList): Buffer {
  if (l.totalSize < 0n || l.totalSize > 0xffffffffffffffffn)
    throw new DndCpEncodeError('fileList.totalSize', `${l.totalSize} is not a u64`);
  const rel = l.relNames.map((n) => {
    const b = Buffer.from(n, 'utf8');
    if (b.includes(0)) throw new DndCpEncodeError('fileList.relNames', `${JSON.stringify(n)} contains a NUL`);
    return Buffer.concat([b, Buffer.alloc(1)]);
  });
  const full = l.fullPaths.map((p) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(p.length, 0);
    return Buffer.concat([len, p]);
  });
  const relBytes = Buffer.concat(rel);
  const fullBytes = Buffer.concat(full);
  const head = Buffer.alloc(FILELIST_HEADER);
  head.writeBigUInt64LE(l.totalSize, 0);
  head.writeUInt32LE(relBytes.length, 8);
  head.writeUInt32LE(fullBytes.length, 12);
  return Buffer.concat([head, relBytes, fullBytes]);
}

/**
 * Decodes a FILELIST item (§5.4). Both lengths must fit the item (bytes after them are ignored,
 * as vmtoolsd reads only what the lengths say); the relative names are split at NULs (the last
 * one may lack its NUL) and must be UTF-8; the full paths are {u32 length, bytes} records that
 * must fill their part exactly. Throws DndCpDecodeError.
 */
export function decodeFileList(bytes: Uint8Array): CpFileList {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < FILELIST_HEADER)
    throw new DndCpDecodeError(
      'fileList',
      `${b.length} bytes, shorter than the ${FILELIST_HEADER}-byte header`,
      0,
    );
  const totalSize = b.readBigUInt64LE(0);
  const relLen = b.readUInt32LE(8);
  const fullLen = b.readUInt32LE(12);
  if (relLen > b.length - FILELIST_HEADER)
    throw new DndCpDecodeError(
      'fileList.relPathsLen',
      `${relLen} bytes, but ${b.length - FILELIST_HEADER} follow`,
      8,
    );
  if (fullLen > b.length - FILELIST_HEADER - relLen)
    throw new DndCpDecodeError(
      'fileList.fullPathsLen',
      `${fullLen} bytes, but ${b.length - FILELIST_HEADER - relLen} follow the names`,
      12,
    );
  const rel = b.subarray(FILELIST_HEADER, FILELIST_HEADER + relLen);
  const relNames: string[] = [];
  let start = 0;
  while (start < rel.length) {
    let end = rel.indexOf(0, start);
    if (end < 0) end = rel.length;
    const name = rel.subarray(start, end);
    if (!isUtf8(name))
      throw new DndCpDecodeError('fileList.relNames', 'a name is not valid UTF-8', FILELIST_HEADER + start);
    relNames.push(name.toString('utf8'));
    start = end + 1;
  }
  const fullPaths: Buffer[] = [];
  const fullStart = FILELIST_HEADER + relLen;
  const fullEnd = fullStart + fullLen;
  let at = fullStart;
  while (at < fullEnd) {
    if (fullEnd - at < 4) throw new DndCpDecodeError('fileList.fullPaths', 'a length is cut short', at);
    const len = b.readUInt32LE(at);
    if (len > fullEnd - at - 4)
      throw new DndCpDecodeError(
        'fileList.fullPaths',
        `a path of ${len} bytes, but ${fullEnd - at - 4} are left`,
        at,
      );
    fullPaths.push(Buffer.from(b.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return { totalSize, relNames, fullPaths };
}

/** The FILELIST_URI item (§9.4): the same files as `file://` URIs, which vmusr adds on Linux. */
export interface CpUriFileList {
  totalSize: bigint;
  uris: string[];
}

const URI_FILELIST_HEADER = 12;

export function encodeUriFileList(l: CpUriFileList): Buffer {
  if (l.totalSize < 0n || l.totalSize > 0xffffffffffffffffn)
    throw new DndCpEncodeError('uriFileList.totalSize', `${l.totalSize} is not a u64`);
  const uris = Buffer.concat(
    l.uris.map((u) => {
      const b = Buffer.from(u, 'utf8');
      if (b.includes(0))
        throw new DndCpEncodeError('uriFileList.uris', `${JSON.stringify(u)} contains a NUL`);
      return Buffer.concat([b, Buffer.alloc(1)]);
    }),
  );
  const head = Buffer.alloc(URI_FILELIST_HEADER);
  head.writeBigUInt64LE(l.totalSize, 0);
  head.writeUInt32LE(uris.length, 8);
  return Buffer.concat([head, uris]);
}

/** Decodes a FILELIST_URI item (§9.4): the length must fit; URIs split at NULs, UTF-8. */
export function decodeUriFileList(bytes: Uint8Array): CpUriFileList {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (b.length < URI_FILELIST_HEADER)
    throw new DndCpDecodeError(
      'uriFileList',
      `${b.length} bytes, shorter than the ${URI_FILELIST_HEADER}-byte header`,
      0,
    );
  const totalSize = b.readBigUInt64LE(0);
  const len = b.readUInt32LE(8);
  if (len > b.length - URI_FILELIST_HEADER)
    throw new DndCpDecodeError(
      'uriFileList.uriPathsLen',
      `${len} bytes, but ${b.length - URI_FILELIST_HEADER} follow`,
      8,
    );
  const body = b.subarray(URI_FILELIST_HEADER, URI_FILELIST_HEADER + len);
  const uris: string[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(0, start);
    if (end < 0) end = body.length;
    const u = body.subarray(start, end);
    if (!isUtf8(u))
      throw new DndCpDecodeError('uriFileList.uris', 'a URI is not valid UTF-8', URI_FILELIST_HEADER + start);
    uris.push(u.toString('utf8'));
    start = end + 1;
  }
  return { totalSize, uris };
}

/**
 * A guest path as vmusr writes it in FILELIST_URI: `file://` + the path with every byte escaped
 * as %XX except ASCII letters, digits, `-._~` and `/` (g_uri_escape_string(path, "/", FALSE)).
 */
export function fileUriOfPath(path: string): string {
  let out = 'file://';
  for (const byte of Buffer.from(path, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~/]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
