import { emptyAttr, readAttrV2, writeAttrV2 } from './attr.js';
import type { Reader } from './bytes.js';
import { HGFS_ATTR_V2_SIZE, HGFS_FILE_NAME_V3_SIZE, HGFS_READ_REPLY_V3_SIZE, HgfsOp } from './constants.js';
import { HgfsEncodeError } from './errors.js';
import { LITE_NAME_IN_REPLY, prepareLiteName, readLiteName, writeName } from './filename.js';
import type { CodecOp, DirEntry, HgfsReply } from './messages.js';
import { encodeEntryName, readEntryName } from './names.js';
import { type PreparedBody, readCapabilities, writeCapabilities } from './requests.js';

// Reply bodies (what follows the header of a SUCCESS reply), both directions.
// docs/protocol/hgfs.md §5.

const CREATE_SESSION_REPLY_FIXED = 28;
/** SEARCH_READ_V3 reply: count u64, reserved u64, then the records. */
const SEARCH_READ_FIXED = 16;
/** `HgfsDirEntry`: nextEntry u32 @0, attr @4, fileName (FileNameV3) @108, name @124. */
const DIRENT_NAME_AT = 4 + HGFS_ATTR_V2_SIZE + HGFS_FILE_NAME_V3_SIZE;
/** sizeof(HgfsDirEntry) in C (125 bytes padded to 128): open-vm-tools sizes a record as this + name length. */
const DIRENT_RECORD_BASE = 128;
/** GETATTR_V3 reply: attr @0, reserved u64 @104, symlinkTarget FileNameV3 @112. */
const GETATTR_TARGET_AT = HGFS_ATTR_V2_SIZE + 8;

const align8 = (n: number) => (n + 7) & ~7;

interface PackedEntry {
  readonly name: Uint8Array;
  readonly entry: DirEntry | undefined;
  readonly at: number;
}

function prepareSearchRead(reply: Extract<HgfsReply, { op: 29 }>): PreparedBody {
  if (reply.entries.length === 0 && !reply.end) {
    throw new HgfsEncodeError(reply.op, 'entries', 'a reply without entries ends the listing (set end)');
  }
  const records: PackedEntry[] = [];
  let at = SEARCH_READ_FIXED;
  let size = SEARCH_READ_FIXED;
  const add = (entry: DirEntry | undefined, name: Uint8Array) => {
    records.push({ entry, name, at });
    size = at + DIRENT_RECORD_BASE + name.length;
    at = align8(size);
  };
  for (const [i, entry] of reply.entries.entries())
    add(entry, encodeEntryName(entry.name, `entries[${i}].name`));
  // open-vm-tools ends a listing with a record whose name is empty (and counts it).
  if (reply.end) add(undefined, new Uint8Array(0));
  return {
    size,
    write(w, base) {
      w.u64('count', base, BigInt(records.length));
      for (const [i, rec] of records.entries()) {
        const next = records[i + 1];
        const r = base + rec.at;
        w.u32(`entries[${i}].nextEntry`, r, next ? next.at - rec.at : 0);
        writeAttrV2(w, r + 4, rec.entry?.attr ?? emptyAttr(), `entries[${i}].attr`);
        w.u32(`entries[${i}].fileName.length`, r + 108, rec.name.length);
        w.put(r + DIRENT_NAME_AT, rec.name);
      }
    },
  };
}

/** Prepares the body of a SUCCESS reply. Throws HgfsEncodeError for what cannot be sent. */
export function prepareReplyBody(reply: HgfsReply): PreparedBody {
  switch (reply.op) {
    case HgfsOp.CREATE_SESSION_V4: {
      const n = reply.capabilities.length;
      return {
        size: CREATE_SESSION_REPLY_FIXED + 8 * n,
        write(w, at) {
          w.u64('sessionId', at, reply.sessionId);
          w.u32('numCapabilities', at + 8, n);
          w.u32('maxPacketSize', at + 12, reply.maxPacketSize);
          // identityOffset @16 stays 0: no HgfsIdentity follows
          w.u32('flags', at + 20, reply.flags);
          writeCapabilities(w, at + CREATE_SESSION_REPLY_FIXED, reply.capabilities);
        },
      };
    }
    case HgfsOp.OPEN_V3:
      return {
        size: 16,
        write(w, at) {
          w.u32('file', at, reply.file);
          w.u32('acquiredLock', at + 4, reply.acquiredLock);
          w.u32('flags', at + 8, reply.flags);
        },
      };
    case HgfsOp.READ_V3:
      return {
        // open-vm-tools sends sizeof(HgfsReplyReadV3) = 13 + the data: its `payload[1]` byte is
        // counted, so a zero follows the data (docs/protocol/hgfs.md §5.3).
        size: HGFS_READ_REPLY_V3_SIZE + reply.data.length,
        write(w, at) {
          w.u32('actualSize', at, reply.data.length);
          w.put(at + 12, reply.data);
        },
      };
    case HgfsOp.WRITE_V3:
      return { size: 12, write: (w, at) => w.u32('actualSize', at, reply.actualSize) };
    case HgfsOp.SEARCH_OPEN_V3:
      return { size: 12, write: (w, at) => w.u32('search', at, reply.search) };
    case HgfsOp.SEARCH_READ_V3:
      return prepareSearchRead(reply);
    case HgfsOp.GETATTR_V3: {
      const target = prepareLiteName('symlinkTarget', reply.symlinkTarget, LITE_NAME_IN_REPLY);
      return {
        size: GETATTR_TARGET_AT + target.size,
        write(w, at) {
          writeAttrV2(w, at, reply.attr);
          writeName(w, at + GETATTR_TARGET_AT, 'symlinkTarget', target);
        },
      };
    }
    case HgfsOp.QUERY_VOLUME_INFO_V3:
      return {
        size: 24,
        write(w, at) {
          w.u64('freeBytes', at, reply.freeBytes);
          w.u64('totalBytes', at + 8, reply.totalBytes);
        },
      };
    case HgfsOp.DESTROY_SESSION_V4:
    case HgfsOp.CLOSE_V3:
    case HgfsOp.SEARCH_CLOSE_V3:
    case HgfsOp.SETATTR_V3:
    case HgfsOp.CREATE_DIR_V3:
    case HgfsOp.DELETE_FILE_V3:
    case HgfsOp.DELETE_DIR_V3:
    case HgfsOp.RENAME_V3:
    case HgfsOp.CREATE_SYMLINK_V3:
      return { size: 8, write() {} };
  }
}

function readSearchRead(r: Reader): HgfsReply {
  r.need('body', 0, SEARCH_READ_FIXED);
  const count = r.u64('count', 0);
  const entries: DirEntry[] = [];
  if (count === 0n) return { op: HgfsOp.SEARCH_READ_V3, entries, end: true };
  // Every record takes at least DIRENT_NAME_AT bytes: a count the bytes cannot hold is refused
  // before the loop, so the loop is bounded by the input.
  if (count > BigInt(Math.floor((r.length - SEARCH_READ_FIXED) / DIRENT_NAME_AT))) {
    r.fail('count', 0, `${count} entries do not fit in ${r.length} bytes`);
  }
  const n = Number(count);
  let at = SEARCH_READ_FIXED;
  for (let i = 0; i < n; i++) {
    const field = `entries[${i}]`;
    r.need(field, at, DIRENT_NAME_AT);
    const nameLength = r.u32(`${field}.fileName.length`, at + 108);
    if (nameLength === 0) {
      if (i !== n - 1)
        r.fail(`${field}.fileName.length`, at + 108, 'an empty name (end of listing) before the last entry');
      return { op: HgfsOp.SEARCH_READ_V3, entries, end: true };
    }
    const name = readEntryName(r, `${field}.fileName.name`, at + DIRENT_NAME_AT, nameLength);
    entries.push({ name, attr: readAttrV2(r, at + 4, `${field}.attr`) });
    if (i < n - 1) {
      const next = r.u32(`${field}.nextEntry`, at);
      if (next < DIRENT_NAME_AT + nameLength) {
        r.fail(
          `${field}.nextEntry`,
          at,
          `${next} does not pass this entry (${DIRENT_NAME_AT + nameLength} bytes)`,
        );
      }
      at += next;
    }
  }
  return { op: HgfsOp.SEARCH_READ_V3, entries, end: false };
}

/** Reads the body of a SUCCESS reply to a request of `op` (a client's side). Throws only HgfsDecodeError. */
export function readReplyBody(op: CodecOp, r: Reader): HgfsReply {
  switch (op) {
    case HgfsOp.CREATE_SESSION_V4: {
      r.need('body', 0, CREATE_SESSION_REPLY_FIXED);
      const n = r.u32('numCapabilities', 8);
      if (n > (r.length - CREATE_SESSION_REPLY_FIXED) / 8) {
        r.fail('numCapabilities', 8, `${n} capabilities do not fit in ${r.length} bytes`);
      }
      return {
        op,
        sessionId: r.u64('sessionId', 0),
        maxPacketSize: r.u32('maxPacketSize', 12),
        flags: r.u32('flags', 20),
        capabilities: readCapabilities(r, CREATE_SESSION_REPLY_FIXED, n),
      };
    }
    case HgfsOp.OPEN_V3:
      r.need('body', 0, 16);
      return { op, file: r.u32('file', 0), acquiredLock: r.u32('acquiredLock', 4), flags: r.u32('flags', 8) };
    case HgfsOp.READ_V3: {
      r.need('body', 0, 12);
      const size = r.u32('actualSize', 0);
      return { op, data: r.slice('data', 12, size) };
    }
    case HgfsOp.WRITE_V3:
      r.need('body', 0, 12);
      return { op, actualSize: r.u32('actualSize', 0) };
    case HgfsOp.SEARCH_OPEN_V3:
      r.need('body', 0, 12);
      return { op, search: r.u32('search', 0) };
    case HgfsOp.SEARCH_READ_V3:
      return readSearchRead(r);
    case HgfsOp.GETATTR_V3: {
      r.need('body', 0, GETATTR_TARGET_AT);
      const attr = readAttrV2(r, 0);
      const { target } = readLiteName(r, GETATTR_TARGET_AT, 'symlinkTarget', false);
      return { op, attr, symlinkTarget: target };
    }
    case HgfsOp.QUERY_VOLUME_INFO_V3:
      r.need('body', 0, 24);
      return { op, freeBytes: r.u64('freeBytes', 0), totalBytes: r.u64('totalBytes', 8) };
    case HgfsOp.DESTROY_SESSION_V4:
    case HgfsOp.CLOSE_V3:
    case HgfsOp.SEARCH_CLOSE_V3:
    case HgfsOp.SETATTR_V3:
    case HgfsOp.CREATE_DIR_V3:
    case HgfsOp.DELETE_FILE_V3:
    case HgfsOp.DELETE_DIR_V3:
    case HgfsOp.RENAME_V3:
    case HgfsOp.CREATE_SYMLINK_V3:
      r.need('reserved', 0, 8);
      return { op };
  }
}
