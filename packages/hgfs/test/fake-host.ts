// A small in-memory HGFS host for the client's tests, built only from this package's server-side
// codecs (decodeRequest, encodeReply, encodeErrorReply). It is not the simulator (vmx-sim has the
// real one, over host directories); it exists to drive HgfsClient through sessions, errors,
// chunking, concurrency and hostile replies.
import {
  type DecodedRequest,
  type DirEntry,
  decodeRequest,
  emptyAttr,
  encodeErrorReply,
  encodeReply,
  type FileNameV3,
  HGFS_HEADER_SIZE,
  HGFS_LARGE_PACKET_MAX,
  HGFS_LEGACY_HEADER_SIZE,
  HGFS_READ_REPLY_V3_SIZE,
  type HgfsAttrV2,
  HgfsAttrValid,
  HgfsDecodeError,
  HgfsFileNameFlags,
  HgfsFileType,
  HgfsOp,
  HgfsOpenFlags,
  type HgfsReply,
  type HgfsRequest,
  HgfsSessionFlags,
  HgfsStatus,
  HgfsWriteFlags,
  permsFromMode,
  type ReplyAddress,
} from '../src/index.js';

interface Node {
  type: number;
  data: Uint8Array;
  mode: number;
  target: string;
  children: Map<string, Node>;
  id: bigint;
}

class Status extends Error {
  constructor(readonly status: number) {
    super(`status ${status}`);
  }
}

export interface FakeHostOptions {
  /** Answer CREATE_SESSION_V4 with PROTOCOL_ERROR, as a host without sessions does. */
  refuseSessions?: boolean;
  /** Largest packet the host takes and sends. */
  maxPacketSize?: number;
  /** Entries per SEARCH_READ_V3 reply (open-vm-tools: 1). */
  entriesPerReply?: number;
}

export interface Seen {
  framing: 'v4' | 'legacy';
  op: number;
  requestId: number;
  size: number;
  sessionId: bigint | undefined;
}

/** Changes the reply to one request: return other bytes to send instead. */
export type Tamper = (d: DecodedRequest & { kind: 'request' }, reply: Uint8Array) => Uint8Array | undefined;

export class FakeHost {
  readonly root: Node;
  readonly sessions = new Set<bigint>();
  readonly seen: Seen[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** When set, replies wait for it. */
  gate: Promise<void> | undefined;
  tamper: Tamper | undefined;
  /** Answer every V4 request (but CREATE_SESSION) STALE_SESSION. */
  alwaysStale = false;
  #nextSession = 0x1000n;
  #nextHandle = 1;
  #nextId = 1n;
  readonly #handles = new Map<number, Node>();
  readonly #searches = new Map<number, DirEntry[]>();
  readonly maxPacketSize: number;
  readonly entriesPerReply: number;

  constructor(readonly options: FakeHostOptions = {}) {
    this.maxPacketSize = options.maxPacketSize ?? HGFS_LARGE_PACKET_MAX;
    this.entriesPerReply = options.entriesPerReply ?? 1;
    this.root = this.#node(HgfsFileType.DIRECTORY, 0o755);
  }

  #node(type: number, mode: number): Node {
    return { type, data: new Uint8Array(0), mode, target: '', children: new Map(), id: this.#nextId++ };
  }

  addShare(name: string): Node {
    const n = this.#node(HgfsFileType.DIRECTORY, 0o755);
    this.root.children.set(name, n);
    return n;
  }

  /** The sender to give HgfsClient. */
  readonly send = async (packet: Uint8Array): Promise<Uint8Array> => {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.gate;
      return this.handle(packet);
    } finally {
      this.inFlight--;
    }
  };

  count(op: number): number {
    return this.seen.filter((s) => s.op === op).length;
  }

  handle(packet: Uint8Array): Uint8Array {
    let d: DecodedRequest;
    try {
      d = decodeRequest(packet);
    } catch (e) {
      if (e instanceof HgfsDecodeError && e.replyTo)
        return encodeErrorReply(e.replyTo, HgfsStatus.PROTOCOL_ERROR);
      throw new Error('packet dropped');
    }
    const a = d.address;
    this.seen.push({
      framing: a.framing,
      op: a.op,
      requestId: a.requestId,
      size: packet.length,
      sessionId: a.framing === 'v4' ? a.sessionId : undefined,
    });
    if (d.kind === 'unsupported') return encodeErrorReply(a, HgfsStatus.PROTOCOL_ERROR);
    if (packet.length > this.maxPacketSize) return encodeErrorReply(a, HgfsStatus.PROTOCOL_ERROR);
    let reply: Uint8Array;
    try {
      reply = encodeReply(a, this.#answer(d.request, a));
    } catch (e) {
      if (!(e instanceof Status)) throw e;
      reply = encodeErrorReply(a, e.status);
    }
    return this.tamper?.(d, reply) ?? reply;
  }

  #answer(req: HgfsRequest, a: ReplyAddress): HgfsReply {
    if (req.op === HgfsOp.CREATE_SESSION_V4) {
      if (this.options.refuseSessions) throw new Status(HgfsStatus.PROTOCOL_ERROR);
      const sessionId = this.#nextSession++;
      this.sessions.add(sessionId);
      return {
        op: req.op,
        sessionId,
        maxPacketSize: Math.min(req.maxPacketSize, this.maxPacketSize),
        flags: HgfsSessionFlags.MAXPACKETSIZE_VALID,
        capabilities: [],
      };
    }
    if (a.framing === 'v4' && (this.alwaysStale || !this.sessions.has(a.sessionId))) {
      throw new Status(HgfsStatus.STALE_SESSION);
    }
    const headerSize = a.framing === 'v4' ? HGFS_HEADER_SIZE : HGFS_LEGACY_HEADER_SIZE;
    switch (req.op) {
      case HgfsOp.DESTROY_SESSION_V4:
        if (a.framing === 'v4') this.sessions.delete(a.sessionId);
        return { op: req.op };
      case HgfsOp.GETATTR_V3: {
        const n = this.#resolve(req.fileName);
        return {
          op: req.op,
          attr: this.#attr(n),
          symlinkTarget: n.type === HgfsFileType.SYMLINK ? n.target : '',
        };
      }
      case HgfsOp.SETATTR_V3: {
        const n = this.#resolve(req.fileName);
        if (req.attr.mask & HgfsAttrValid.SIZE) n.data = resize(n.data, Number(req.attr.size));
        if (req.attr.mask & HgfsAttrValid.OWNER_PERMS) {
          n.mode =
            (req.attr.specialPerms << 9) |
            (req.attr.ownerPerms << 6) |
            (req.attr.groupPerms << 3) |
            req.attr.otherPerms;
        }
        return { op: req.op };
      }
      case HgfsOp.OPEN_V3: {
        const { parent, name } = this.#parent(req.fileName.path);
        let n = parent.children.get(name);
        if (!n) {
          if (req.flags === HgfsOpenFlags.OPEN || req.flags === HgfsOpenFlags.OPEN_EMPTY) {
            throw new Status(HgfsStatus.NO_SUCH_FILE_OR_DIR);
          }
          n = this.#node(
            HgfsFileType.REGULAR,
            (req.ownerPerms << 6) | (req.groupPerms << 3) | req.otherPerms,
          );
          parent.children.set(name, n);
        } else if (req.flags === HgfsOpenFlags.OPEN_CREATE_SAFE) {
          throw new Status(HgfsStatus.FILE_EXISTS);
        } else if (req.flags === HgfsOpenFlags.OPEN_EMPTY || req.flags === HgfsOpenFlags.OPEN_CREATE_EMPTY) {
          n.data = new Uint8Array(0);
        }
        const file = this.#nextHandle++;
        this.#handles.set(file, n);
        return { op: req.op, file, acquiredLock: 0, flags: 0 };
      }
      case HgfsOp.READ_V3: {
        // open-vm-tools refuses a read whose reply (header, 13-byte struct, data) would not fit
        // its packet, before it looks at the handle: EINVAL, INVALID_NAME.
        if (headerSize + HGFS_READ_REPLY_V3_SIZE + req.requiredSize > this.maxPacketSize)
          throw new Status(HgfsStatus.INVALID_NAME);
        const n = this.#handle(req.file);
        const start = Math.min(Number(req.offset), n.data.length);
        return { op: req.op, data: n.data.subarray(start, start + req.requiredSize) };
      }
      case HgfsOp.WRITE_V3: {
        const n = this.#handle(req.file);
        const at = req.flags & HgfsWriteFlags.APPEND ? n.data.length : Number(req.offset);
        if (at + req.data.length > n.data.length) n.data = resize(n.data, at + req.data.length);
        n.data.set(req.data, at);
        return { op: req.op, actualSize: req.data.length };
      }
      case HgfsOp.CLOSE_V3:
        if (!this.#handles.delete(req.file)) throw new Status(HgfsStatus.INVALID_HANDLE);
        return { op: req.op };
      case HgfsOp.SEARCH_OPEN_V3: {
        const dir = this.#resolve(req.dirName);
        if (dir.type !== HgfsFileType.DIRECTORY) throw new Status(HgfsStatus.NOT_DIRECTORY);
        const entries: DirEntry[] = [
          { name: '.', attr: this.#attr(dir) },
          { name: '..', attr: this.#attr(dir) },
          ...[...dir.children].map(([name, n]) => ({ name, attr: this.#attr(n) })),
        ];
        const search = this.#nextHandle++;
        this.#searches.set(search, entries);
        return { op: req.op, search };
      }
      case HgfsOp.SEARCH_READ_V3: {
        const entries = this.#searches.get(req.search);
        if (!entries) throw new Status(HgfsStatus.INVALID_HANDLE);
        const batch = entries.slice(req.offset, req.offset + this.entriesPerReply);
        return { op: req.op, entries: batch, end: req.offset + batch.length >= entries.length };
      }
      case HgfsOp.SEARCH_CLOSE_V3:
        if (!this.#searches.delete(req.search)) throw new Status(HgfsStatus.INVALID_HANDLE);
        return { op: req.op };
      case HgfsOp.CREATE_DIR_V3: {
        const { parent, name } = this.#parent(req.fileName.path);
        if (parent.children.has(name)) throw new Status(HgfsStatus.FILE_EXISTS);
        parent.children.set(
          name,
          this.#node(HgfsFileType.DIRECTORY, (req.ownerPerms << 6) | (req.groupPerms << 3) | req.otherPerms),
        );
        return { op: req.op };
      }
      case HgfsOp.DELETE_FILE_V3:
      case HgfsOp.DELETE_DIR_V3: {
        const { parent, name } = this.#parent(req.fileName.path);
        const n = parent.children.get(name);
        if (!n) throw new Status(HgfsStatus.NO_SUCH_FILE_OR_DIR);
        const isDir = n.type === HgfsFileType.DIRECTORY;
        if (isDir !== (req.op === HgfsOp.DELETE_DIR_V3))
          throw new Status(isDir ? HgfsStatus.ACCESS_DENIED : HgfsStatus.NOT_DIRECTORY);
        if (isDir && n.children.size > 0) throw new Status(HgfsStatus.DIR_NOT_EMPTY);
        parent.children.delete(name);
        return { op: req.op };
      }
      case HgfsOp.RENAME_V3: {
        const from = this.#parent(req.oldName.path);
        const to = this.#parent(req.newName.path);
        const n = from.parent.children.get(from.name);
        if (!n) throw new Status(HgfsStatus.NO_SUCH_FILE_OR_DIR);
        if (req.hints & 4n && to.parent.children.has(to.name)) throw new Status(HgfsStatus.FILE_EXISTS);
        from.parent.children.delete(from.name);
        to.parent.children.set(to.name, n);
        return { op: req.op };
      }
      case HgfsOp.CREATE_SYMLINK_V3: {
        const { parent, name } = this.#parent(req.symlinkName.path);
        if (parent.children.has(name)) throw new Status(HgfsStatus.FILE_EXISTS);
        const n = this.#node(HgfsFileType.SYMLINK, 0o777);
        n.target = req.target;
        parent.children.set(name, n);
        return { op: req.op };
      }
      case HgfsOp.QUERY_VOLUME_INFO_V3:
        this.#resolve(req.fileName);
        return { op: req.op, freeBytes: 1000n, totalBytes: 4000n };
    }
  }

  #attr(n: Node): HgfsAttrV2 {
    return {
      ...emptyAttr(),
      mask:
        HgfsAttrValid.TYPE |
        HgfsAttrValid.SIZE |
        HgfsAttrValid.SPECIAL_PERMS |
        HgfsAttrValid.OWNER_PERMS |
        HgfsAttrValid.GROUP_PERMS |
        HgfsAttrValid.OTHER_PERMS |
        HgfsAttrValid.FILEID,
      type: n.type,
      size: BigInt(n.type === HgfsFileType.SYMLINK ? n.target.length : n.data.length),
      ...permsFromMode(n.mode),
      hostFileId: n.id,
    };
  }

  #resolve(fn: FileNameV3): Node {
    if (fn.flags & HgfsFileNameFlags.USE_FILE_DESC) return this.#handle(fn.fid);
    let n = this.root;
    for (const c of fn.path) {
      const next = n.children.get(c);
      if (!next) throw new Status(HgfsStatus.NO_SUCH_FILE_OR_DIR);
      n = next;
    }
    return n;
  }

  #parent(path: readonly string[]): { parent: Node; name: string } {
    if (path.length < 2) throw new Status(HgfsStatus.ACCESS_DENIED); // the root and shares themselves
    const parent = this.#resolve({ path: path.slice(0, -1), flags: 0, caseType: 0, fid: 0 });
    if (parent.type !== HgfsFileType.DIRECTORY) throw new Status(HgfsStatus.NOT_DIRECTORY);
    return { parent, name: path[path.length - 1]! };
  }

  #handle(file: number): Node {
    const n = this.#handles.get(file);
    if (!n) throw new Status(HgfsStatus.INVALID_HANDLE);
    return n;
  }
}

function resize(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(data.subarray(0, size));
  return out;
}
