import { readAttrV2, writeAttrV2 } from './attr.js';
import type { Reader, Writer } from './bytes.js';
import { HGFS_ATTR_V2_SIZE, HGFS_WRITE_REQUEST_V3_SIZE, HgfsOp } from './constants.js';
import {
  LITE_NAME_IN_REQUEST,
  prepareLiteName,
  preparePathName,
  readLiteName,
  readPathName,
  writeName,
} from './filename.js';
import type { CodecOp, HgfsRequest, OpCapability } from './messages.js';

// Request bodies (what follows the header) of the ops in CODEC_OPS, both directions. Offsets and
// sizes: docs/protocol/hgfs.md §5.

/** A body whose size is known, to be written into a packet allocated once. */
export interface PreparedBody {
  readonly size: number;
  write(w: Writer, at: number): void;
}

const CAPABILITY_SIZE = 8;
/** CREATE_SESSION_V4 request: fixed fields, then capabilities; the C struct declares one slot. */
const CREATE_SESSION_FIXED = 16;

export function writeCapabilities(w: Writer, at: number, caps: readonly OpCapability[]): void {
  for (const [i, cap] of caps.entries()) {
    w.u32(`capabilities[${i}].op`, at + i * CAPABILITY_SIZE, cap.op);
    w.u32(`capabilities[${i}].flags`, at + i * CAPABILITY_SIZE + 4, cap.flags);
  }
}

/** Reads `count` capabilities at `at`, after checking they are all there (no allocation first). */
export function readCapabilities(r: Reader, at: number, count: number): OpCapability[] {
  r.need('capabilities', at, count * CAPABILITY_SIZE);
  const caps: OpCapability[] = [];
  for (let i = 0; i < count; i++) {
    caps.push({
      op: r.u32('capabilities.op', at + i * 8),
      flags: r.u32('capabilities.flags', at + i * 8 + 4),
    });
  }
  return caps;
}

/** Prepares the body of a request. Throws HgfsEncodeError / HgfsNameError for what cannot be sent. */
export function prepareRequestBody(req: HgfsRequest): PreparedBody {
  const op = req.op;
  switch (req.op) {
    case HgfsOp.CREATE_SESSION_V4: {
      const n = req.capabilities.length;
      return {
        // vmhgfs-fuse sends the C struct with its one (unused) capability slot: 24 bytes for none.
        size: CREATE_SESSION_FIXED + CAPABILITY_SIZE * Math.max(1, n),
        write(w, at) {
          w.u32('numCapabilities', at, n);
          w.u32('maxPacketSize', at + 4, req.maxPacketSize);
          w.u32('flags', at + 8, req.flags);
          writeCapabilities(w, at + CREATE_SESSION_FIXED, req.capabilities);
        },
      };
    }
    case HgfsOp.DESTROY_SESSION_V4:
      return { size: 8, write() {} };
    case HgfsOp.OPEN_V3: {
      const name = preparePathName(op, 'fileName', req.fileName);
      return {
        size: 64 + name.size,
        write(w, at) {
          w.u64('mask', at, req.mask);
          w.u32('mode', at + 8, req.mode);
          w.u32('flags', at + 12, req.flags);
          w.u8('specialPerms', at + 16, req.specialPerms);
          w.u8('ownerPerms', at + 17, req.ownerPerms);
          w.u8('groupPerms', at + 18, req.groupPerms);
          w.u8('otherPerms', at + 19, req.otherPerms);
          w.u64('attr', at + 20, req.attr);
          w.u64('allocationSize', at + 28, req.allocationSize);
          w.u32('desiredAccess', at + 36, req.desiredAccess);
          w.u32('shareAccess', at + 40, req.shareAccess);
          w.u32('desiredLock', at + 44, req.desiredLock);
          writeName(w, at + 64, 'fileName', name);
        },
      };
    }
    case HgfsOp.READ_V3:
      return {
        size: 24,
        write(w, at) {
          w.u32('file', at, req.file);
          w.u64('offset', at + 4, req.offset);
          w.u32('requiredSize', at + 12, req.requiredSize);
        },
      };
    case HgfsOp.WRITE_V3:
      return {
        // A zero-byte write still carries the struct's one payload byte (a zero): open-vm-tools'
        // server takes no WRITE_V3 body under 26 bytes (docs/protocol/hgfs.md §5.3).
        size: Math.max(25 + req.data.length, HGFS_WRITE_REQUEST_V3_SIZE),
        write(w, at) {
          w.u32('file', at, req.file);
          w.u8('flags', at + 4, req.flags);
          w.u64('offset', at + 5, req.offset);
          w.u32('requiredSize', at + 13, req.data.length);
          w.put(at + 25, req.data);
        },
      };
    case HgfsOp.CLOSE_V3:
      return { size: 12, write: (w, at) => w.u32('file', at, req.file) };
    case HgfsOp.SEARCH_OPEN_V3: {
      const name = preparePathName(op, 'dirName', req.dirName);
      return { size: 8 + name.size, write: (w, at) => void writeName(w, at + 8, 'dirName', name) };
    }
    case HgfsOp.SEARCH_READ_V3:
      return {
        size: 20,
        write(w, at) {
          w.u32('search', at, req.search);
          w.u32('offset', at + 4, req.offset);
          w.u32('flags', at + 8, req.flags);
        },
      };
    case HgfsOp.SEARCH_CLOSE_V3:
      return { size: 12, write: (w, at) => w.u32('search', at, req.search) };
    case HgfsOp.GETATTR_V3:
    case HgfsOp.DELETE_FILE_V3:
    case HgfsOp.DELETE_DIR_V3: {
      const name = preparePathName(op, 'fileName', req.fileName);
      return {
        size: 16 + name.size,
        write(w, at) {
          w.u64('hints', at, req.hints);
          writeName(w, at + 16, 'fileName', name);
        },
      };
    }
    case HgfsOp.SETATTR_V3: {
      const name = preparePathName(op, 'fileName', req.fileName);
      return {
        size: 8 + HGFS_ATTR_V2_SIZE + 8 + name.size,
        write(w, at) {
          w.u64('hints', at, req.hints);
          writeAttrV2(w, at + 8, req.attr);
          writeName(w, at + 120, 'fileName', name);
        },
      };
    }
    case HgfsOp.CREATE_DIR_V3: {
      const name = preparePathName(op, 'fileName', req.fileName);
      return {
        size: 20 + name.size,
        write(w, at) {
          w.u64('mask', at, req.mask);
          w.u8('specialPerms', at + 8, req.specialPerms);
          w.u8('ownerPerms', at + 9, req.ownerPerms);
          w.u8('groupPerms', at + 10, req.groupPerms);
          w.u8('otherPerms', at + 11, req.otherPerms);
          w.u64('fileAttr', at + 12, req.fileAttr);
          writeName(w, at + 20, 'fileName', name);
        },
      };
    }
    case HgfsOp.RENAME_V3: {
      const oldName = preparePathName(op, 'oldName', req.oldName);
      const newName = preparePathName(op, 'newName', req.newName);
      return {
        size: 16 + oldName.size + newName.size,
        write(w, at) {
          w.u64('hints', at, req.hints);
          const next = writeName(w, at + 16, 'oldName', oldName);
          writeName(w, next, 'newName', newName);
        },
      };
    }
    case HgfsOp.QUERY_VOLUME_INFO_V3: {
      const name = preparePathName(op, 'fileName', req.fileName);
      return { size: 8 + name.size, write: (w, at) => void writeName(w, at + 8, 'fileName', name) };
    }
    case HgfsOp.CREATE_SYMLINK_V3: {
      const link = preparePathName(op, 'symlinkName', req.symlinkName);
      const target = prepareLiteName('targetName', req.target, LITE_NAME_IN_REQUEST);
      return {
        size: 8 + link.size + target.size,
        write(w, at) {
          const next = writeName(w, at + 8, 'symlinkName', link);
          writeName(w, next, 'targetName', target);
        },
      };
    }
  }
}

/** Reads the body of a request of `op` (a server's side). Throws only HgfsDecodeError. */
export function readRequestBody(op: CodecOp, r: Reader): HgfsRequest {
  switch (op) {
    case HgfsOp.CREATE_SESSION_V4: {
      // open-vm-tools' minimum for this op is the C struct: 24 bytes, one capability slot.
      r.need('body', 0, CREATE_SESSION_FIXED + CAPABILITY_SIZE);
      const n = r.u32('numCapabilities', 0);
      if (n > (r.length - CREATE_SESSION_FIXED) / CAPABILITY_SIZE) {
        r.fail('numCapabilities', 0, `${n} capabilities do not fit in ${r.length} bytes`);
      }
      return {
        op,
        maxPacketSize: r.u32('maxPacketSize', 4),
        flags: r.u32('flags', 8),
        capabilities: readCapabilities(r, CREATE_SESSION_FIXED, n),
      };
    }
    case HgfsOp.DESTROY_SESSION_V4:
      r.need('reserved', 0, 8);
      return { op };
    case HgfsOp.OPEN_V3: {
      r.need('body', 0, 64);
      return {
        op,
        mask: r.u64('mask', 0),
        mode: r.u32('mode', 8),
        flags: r.u32('flags', 12),
        specialPerms: r.u8('specialPerms', 16),
        ownerPerms: r.u8('ownerPerms', 17),
        groupPerms: r.u8('groupPerms', 18),
        otherPerms: r.u8('otherPerms', 19),
        attr: r.u64('attr', 20),
        allocationSize: r.u64('allocationSize', 28),
        desiredAccess: r.u32('desiredAccess', 36),
        shareAccess: r.u32('shareAccess', 40),
        desiredLock: r.u32('desiredLock', 44),
        fileName: readPathName(r, 64, 'fileName').fn,
      };
    }
    case HgfsOp.READ_V3:
      r.need('body', 0, 24);
      return {
        op,
        file: r.u32('file', 0),
        offset: r.u64('offset', 4),
        requiredSize: r.u32('requiredSize', 12),
      };
    case HgfsOp.WRITE_V3: {
      r.need('body', 0, HGFS_WRITE_REQUEST_V3_SIZE);
      const size = r.u32('requiredSize', 13);
      return {
        op,
        file: r.u32('file', 0),
        flags: r.u8('flags', 4),
        offset: r.u64('offset', 5),
        data: r.slice('data', 25, size),
      };
    }
    case HgfsOp.CLOSE_V3:
      r.need('body', 0, 12);
      return { op, file: r.u32('file', 0) };
    case HgfsOp.SEARCH_OPEN_V3:
      r.need('reserved', 0, 8);
      return { op, dirName: readPathName(r, 8, 'dirName').fn };
    case HgfsOp.SEARCH_READ_V3:
      r.need('body', 0, 20);
      return { op, search: r.u32('search', 0), offset: r.u32('offset', 4), flags: r.u32('flags', 8) };
    case HgfsOp.SEARCH_CLOSE_V3:
      r.need('body', 0, 12);
      return { op, search: r.u32('search', 0) };
    case HgfsOp.GETATTR_V3:
    case HgfsOp.DELETE_FILE_V3:
    case HgfsOp.DELETE_DIR_V3:
      r.need('body', 0, 16);
      return { op, hints: r.u64('hints', 0), fileName: readPathName(r, 16, 'fileName').fn };
    case HgfsOp.SETATTR_V3:
      r.need('body', 0, 120);
      return {
        op,
        hints: r.u64('hints', 0),
        attr: readAttrV2(r, 8),
        fileName: readPathName(r, 120, 'fileName').fn,
      };
    case HgfsOp.CREATE_DIR_V3:
      r.need('body', 0, 20);
      return {
        op,
        mask: r.u64('mask', 0),
        specialPerms: r.u8('specialPerms', 8),
        ownerPerms: r.u8('ownerPerms', 9),
        groupPerms: r.u8('groupPerms', 10),
        otherPerms: r.u8('otherPerms', 11),
        fileAttr: r.u64('fileAttr', 12),
        fileName: readPathName(r, 20, 'fileName').fn,
      };
    case HgfsOp.RENAME_V3: {
      r.need('body', 0, 16);
      const oldName = readPathName(r, 16, 'oldName');
      const newName = readPathName(r, oldName.end, 'newName');
      return { op, hints: r.u64('hints', 0), oldName: oldName.fn, newName: newName.fn };
    }
    case HgfsOp.QUERY_VOLUME_INFO_V3:
      r.need('reserved', 0, 8);
      return { op, fileName: readPathName(r, 8, 'fileName').fn };
    case HgfsOp.CREATE_SYMLINK_V3: {
      r.need('reserved', 0, 8);
      const link = readPathName(r, 8, 'symlinkName');
      const target = readLiteName(r, link.end, 'targetName', true);
      return { op, symlinkName: link.fn, target: target.target };
    }
  }
}
