import { emptyAttr, type HgfsAttrV2, permsFromMode } from './attr.js';
import {
  HGFS_HEADER_SIZE,
  HGFS_LEGACY_HEADER_SIZE,
  HGFS_LEGACY_LARGE_PACKET_MAX,
  HGFS_PACKET_MAX,
  HGFS_READ_REPLY_V3_SIZE,
  HgfsAttrHint,
  HgfsAttrValid,
  HgfsCreateDirValid,
  HgfsFileNameFlags,
  HgfsFileType,
  HgfsLockType,
  HgfsOp,
  HgfsOpenFlags,
  HgfsOpenMode,
  HgfsOpenValid,
  HgfsRenameHint,
  HgfsSessionFlags,
  HgfsStatus,
  HgfsWriteFlags,
} from './constants.js';
import { HgfsDecodeError, HgfsEncodeError, HgfsStatusError, HgfsTransportError } from './errors.js';
import type { Framing } from './header.js';
import {
  type CodecOp,
  type DirEntry,
  type FileNameV3,
  fileHandle,
  fileName,
  type HgfsRequest,
  type ReplyOf,
} from './messages.js';
import { decodeReply, encodeRequest } from './packets.js';

/**
 * Carries one HGFS request packet to the host and resolves with its reply packet (for GuestRPC:
 * without the 'f ' / '1 ' prefixes, see rpciRequest and packetFromRpciReply). It rejects on a
 * transport failure; the client wraps what it rejects with into an HgfsTransportError. Calls
 * overlap: the client issues many at once and the transport decides how many really travel
 * together.
 */
export type HgfsSend = (packet: Uint8Array, signal?: AbortSignal) => Promise<Uint8Array>;

export interface HgfsClientOptions {
  send: HgfsSend;
  /**
   * The largest packet the transport carries, asked for in CREATE_SESSION_V4:
   * HGFS_LARGE_PACKET_MAX when the host allows large packets (guestinfo hgfs.packetSize.large),
   * else HGFS_LEGACY_LARGE_PACKET_MAX (the default).
   */
  maxPacketSize?: number | (() => Promise<number>);
  /**
   * The largest request packet the transport can send, when that is less than maxPacketSize:
   * over the backdoor a guest→host message is at most 64 KiB, so 65534 bytes after 'f '
   * (docs/protocol/hgfs.md §7). Writes are cut to fit; reads still use the full packet size.
   */
  maxRequestSize?: number;
  /** Create a V4 session (default). false: the legacy header from the start, as without a session. */
  sessions?: boolean;
  /** READ_V3 / WRITE_V3 requests one read or write keeps in flight at once (default 8). */
  ioWindow?: number;
  /** Most entries one listDir accepts before failing (default 1,048,576). */
  maxDirEntries?: number;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

/** GETATTR_V3's answer: the attributes, and the target when the file is a symlink ('' otherwise). */
export interface HgfsAttr extends HgfsAttrV2 {
  symlinkTarget: string;
}

/** A file named by its path (components, share first) or by an open handle. */
export type PathOrHandle = readonly string[] | { readonly handle: number };

/** What setattr changes; anything absent stays. Times are NT times; 'now' is the host's clock. */
export interface SetAttrChanges {
  size?: bigint;
  /** Permission bits (0o7777). */
  mode?: number;
  accessTime?: bigint | 'now';
  writeTime?: bigint | 'now';
  userId?: number;
  groupId?: number;
}

export interface OpenOptions {
  /** HgfsOpenMode: READ_ONLY, WRITE_ONLY or READ_WRITE (| SEQUENTIAL). */
  mode: number;
  /** HgfsOpenFlags: OPEN, OPEN_EMPTY, OPEN_CREATE, OPEN_CREATE_SAFE, OPEN_CREATE_EMPTY. */
  flags: number;
  /** Permission bits (0o7777) for a file the open creates. */
  permissions?: number;
}

const WRITE_REQUEST_BODY = 25;
const DEFAULT_IO_WINDOW = 8;
const DEFAULT_MAX_DIR_ENTRIES = 1 << 20;

/** Where requests go: the framing chosen and, with V4, the session. */
interface Channel {
  readonly framing: Framing;
  readonly sessionId: bigint;
  readonly maxPacketSize: number;
  /** Counts session (re)creations, so requests that saw the same stale session renew it once. */
  readonly generation: number;
}

function checkPacketSize(size: number): number {
  if (!Number.isInteger(size) || size < HGFS_PACKET_MAX || size > 0xffffffff)
    throw new RangeError(`maxPacketSize ${size} is not an integer from ${HGFS_PACKET_MAX} to 2^32-1`);
  return size;
}

function isHandle(t: PathOrHandle): t is { readonly handle: number } {
  return !Array.isArray(t);
}

function pathOf(t: PathOrHandle): readonly string[] | undefined {
  return isHandle(t) ? undefined : t;
}

/**
 * An HGFS client over an injected sender: shared folders in file-system terms. Paths are
 * component arrays, share first: ['share', 'dir', 'file']; [] is the root of all shares.
 * docs/protocol/hgfs.md §10 describes its behaviour (sessions, fallback, chunking).
 */
export class HgfsClient {
  readonly #send: HgfsSend;
  /** The packet size asked for: fixed, or learnt from the host before the first session. */
  #limit: number | undefined;
  readonly #limitSource: (() => Promise<number>) | undefined;
  #requestLimitOption: number | undefined;
  readonly #sessions: boolean;
  readonly #ioWindow: number;
  readonly #maxDirEntries: number;
  #channel: Channel | undefined;
  #connecting: Promise<Channel> | undefined;
  #generation = 0;
  #nextId = 0;
  readonly #inFlight = new Set<number>();

  constructor(options: HgfsClientOptions) {
    this.#send = options.send;
    const size = options.maxPacketSize ?? HGFS_LEGACY_LARGE_PACKET_MAX;
    if (typeof size === 'function') this.#limitSource = size;
    else this.#limit = checkPacketSize(size);
    this.#requestLimitOption = options.maxRequestSize;
    if (
      this.#requestLimitOption !== undefined &&
      (!Number.isInteger(this.#requestLimitOption) || this.#requestLimitOption < HGFS_PACKET_MAX)
    ) {
      throw new RangeError(
        `maxRequestSize ${this.#requestLimitOption} is not an integer of at least ${HGFS_PACKET_MAX}`,
      );
    }
    this.#sessions = options.sessions ?? true;
    this.#ioWindow = Math.max(1, options.ioWindow ?? DEFAULT_IO_WINDOW);
    this.#maxDirEntries = options.maxDirEntries ?? DEFAULT_MAX_DIR_ENTRIES;
  }

  /** The framing in use: undefined until the first request decided it. */
  get framing(): Framing | undefined {
    return this.#channel?.framing;
  }

  /** The V4 session id, if there is a session. */
  get sessionId(): bigint | undefined {
    return this.#channel?.framing === 'v4' ? this.#channel.sessionId : undefined;
  }

  /** The packet size in use: the smaller of ours and the host's (ours until negotiated). */
  get maxPacketSize(): number {
    return this.#channel?.maxPacketSize ?? this.#limit ?? HGFS_LEGACY_LARGE_PACKET_MAX;
  }

  /** The largest request packet: maxRequestSize when given, else the packet size. */
  get #requestLimit(): number {
    return this.#requestLimitOption ?? this.#limit ?? HGFS_LEGACY_LARGE_PACKET_MAX;
  }

  /**
   * Forgets the session without a word to the host (which has forgotten it already, e.g. after a
   * host reset): the next request negotiates anew, and requests in flight that come back
   * STALE_SESSION join that negotiation.
   */
  forgetSession(): void {
    this.#channel = undefined;
    this.#generation++;
  }

  #headerSize(): number {
    return this.#channel?.framing === 'legacy' ? HGFS_LEGACY_HEADER_SIZE : HGFS_HEADER_SIZE;
  }

  /**
   * Bytes of file data one READ_V3 brings back: packet − header − 13, the most open-vm-tools'
   * server answers (it counts the reply struct's one-byte payload too; docs/protocol/hgfs.md §10).
   */
  get readChunk(): number {
    return this.maxPacketSize - this.#headerSize() - HGFS_READ_REPLY_V3_SIZE;
  }

  /** Bytes of file data one WRITE_V3 carries: request packet − header − request body. */
  get writeChunk(): number {
    return Math.min(this.maxPacketSize, this.#requestLimit) - this.#headerSize() - WRITE_REQUEST_BODY;
  }

  /** Chooses the framing now (otherwise the first request does). */
  async connect(options: RequestOptions = {}): Promise<void> {
    await this.#ready(options.signal);
  }

  #ready(signal: AbortSignal | undefined): Promise<Channel> {
    if (this.#channel) return Promise.resolve(this.#channel);
    return this.#negotiate(signal);
  }

  /**
   * One CREATE_SESSION_V4 at a time; everyone waiting shares its outcome. The negotiation itself
   * takes no caller's signal (one caller's abort must not fail the others): each caller stops
   * waiting at its own abort.
   */
  #negotiate(signal: AbortSignal | undefined): Promise<Channel> {
    this.#connecting ??= this.#createSession().finally(() => {
      this.#connecting = undefined;
    });
    return signal ? untilAborted(this.#connecting, signal) : this.#connecting;
  }

  async #createSession(): Promise<Channel> {
    // A size learnt from the host is asked for once; a failure fails this request and is asked again.
    if (this.#limit === undefined && this.#limitSource) {
      let size: number;
      try {
        size = await this.#limitSource();
      } catch (e) {
        throw new HgfsTransportError(`the packet size could not be learnt: ${(e as Error).message}`, {
          cause: e,
        });
      }
      this.#limit = checkPacketSize(size);
    }
    const limit = this.#limit ?? HGFS_LEGACY_LARGE_PACKET_MAX;
    const generation = ++this.#generation;
    const legacy = (): Channel => {
      const c: Channel = {
        framing: 'legacy',
        sessionId: 0n,
        maxPacketSize: Math.min(limit, HGFS_LEGACY_LARGE_PACKET_MAX),
        generation,
      };
      this.#channel = c;
      return c;
    };
    if (!this.#sessions) return legacy();
    const op = HgfsOp.CREATE_SESSION_V4;
    const requestId = this.#takeId();
    try {
      // Like vmhgfs-fuse: the session id of a client without a session yet is 0.
      const packet = encodeRequest(
        { op, maxPacketSize: limit, flags: 0, capabilities: [] },
        { framing: 'v4', requestId, sessionId: this.#channel?.sessionId ?? 0n },
      );
      const bytes = await this.#transport(packet, undefined);
      let d: ReturnType<typeof decodeReply<typeof op>>;
      try {
        d = decodeReply(bytes, { framing: 'v4', requestId, op });
      } catch (e) {
        if (e instanceof HgfsDecodeError) return legacy(); // a host that does not speak V4
        throw e;
      }
      if (d.status !== HgfsStatus.SUCCESS || !d.reply) return legacy(); // sessions refused
      const offered =
        (d.reply.flags & HgfsSessionFlags.MAXPACKETSIZE_VALID) !== 0
          ? d.reply.maxPacketSize
          : HGFS_LEGACY_LARGE_PACKET_MAX;
      if (offered < HGFS_PACKET_MAX) {
        throw new HgfsDecodeError(
          op,
          'maxPacketSize',
          HGFS_HEADER_SIZE + 12,
          `${offered} is below ${HGFS_PACKET_MAX}`,
        );
      }
      const c: Channel = {
        framing: 'v4',
        sessionId: d.reply.sessionId,
        maxPacketSize: Math.min(limit, offered),
        generation,
      };
      this.#channel = c;
      return c;
    } finally {
      this.#inFlight.delete(requestId);
    }
  }

  /** A request id no request in flight has (u32, wrapping). */
  #takeId(): number {
    let id = this.#nextId;
    while (this.#inFlight.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    this.#inFlight.add(id);
    return id;
  }

  async #transport(packet: Uint8Array, signal: AbortSignal | undefined): Promise<Uint8Array> {
    try {
      signal?.throwIfAborted();
      return await this.#send(packet, signal);
    } catch (e) {
      if (e instanceof HgfsTransportError) throw e;
      throw new HgfsTransportError(e instanceof Error ? e.message : String(e), { cause: e });
    }
  }

  /**
   * Sends one request and returns its SUCCESS reply. A status other than SUCCESS is an
   * HgfsStatusError naming `path` (the request's file name when not given). STALE_SESSION
   * renews the session once and resends; stale again is an error.
   */
  async request<R extends HgfsRequest>(
    req: R,
    options: RequestOptions & { path?: readonly string[] } = {},
  ): Promise<ReplyOf<R['op']>> {
    const { signal } = options;
    const path = options.path ?? requestPath(req);
    let channel = await this.#ready(signal);
    for (let attempt = 0; ; attempt++) {
      const requestId = this.#takeId();
      try {
        const packet = encodeRequest(
          req,
          channel.framing === 'v4'
            ? { framing: 'v4', requestId, sessionId: channel.sessionId }
            : { framing: 'legacy', requestId },
        );
        const limit = Math.min(channel.maxPacketSize, this.#requestLimit);
        if (packet.length > limit) {
          throw new HgfsEncodeError(
            req.op,
            'packet',
            `${packet.length} bytes, over the ${limit}-byte request size`,
          );
        }
        const bytes = await this.#transport(packet, signal);
        const op = req.op as R['op'] & CodecOp;
        const d = decodeReply(bytes, { framing: channel.framing, requestId, op });
        if (d.status === HgfsStatus.STALE_SESSION && channel.framing === 'v4' && attempt === 0) {
          channel = await this.#renew(channel, signal);
          continue;
        }
        if (d.status !== HgfsStatus.SUCCESS || !d.reply) throw new HgfsStatusError(req.op, d.status, path);
        return d.reply as ReplyOf<R['op']>;
      } finally {
        this.#inFlight.delete(requestId);
      }
    }
  }

  /** A new session after `stale` went stale; requests that saw the same one share the renewal. */
  async #renew(stale: Channel, signal: AbortSignal | undefined): Promise<Channel> {
    if (this.#channel && this.#channel.generation !== stale.generation) return this.#channel;
    if (this.#channel === stale) this.#channel = undefined;
    return this.#negotiate(signal);
  }

  async getattr(target: PathOrHandle, options: RequestOptions = {}): Promise<HgfsAttr> {
    const reply = await this.request(
      {
        op: HgfsOp.GETATTR_V3,
        hints: isHandle(target) ? HgfsAttrHint.USE_FILE_DESC : 0n,
        fileName: nameOf(target),
      },
      { ...options, path: pathOf(target) },
    );
    return { ...reply.attr, symlinkTarget: reply.symlinkTarget };
  }

  /**
   * A symlink's target, exactly. V3 has no READLINK: GETATTR_V3 returns it with the attributes.
   * Not a symlink: HgfsStatusError INVALID_PARAMETER (EINVAL), as readlink(2) says.
   */
  async readlink(path: readonly string[], options: RequestOptions = {}): Promise<string> {
    const attr = await this.getattr(path, options);
    if (attr.type !== HgfsFileType.SYMLINK)
      throw new HgfsStatusError(HgfsOp.GETATTR_V3, HgfsStatus.INVALID_PARAMETER, path);
    return attr.symlinkTarget;
  }

  async setattr(target: PathOrHandle, changes: SetAttrChanges, options: RequestOptions = {}): Promise<void> {
    const attr = emptyAttr();
    let hints = isHandle(target) ? HgfsAttrHint.USE_FILE_DESC : 0n;
    if (changes.size !== undefined) {
      attr.mask |= HgfsAttrValid.SIZE;
      attr.size = changes.size;
    }
    if (changes.mode !== undefined) {
      attr.mask |=
        HgfsAttrValid.SPECIAL_PERMS |
        HgfsAttrValid.OWNER_PERMS |
        HgfsAttrValid.GROUP_PERMS |
        HgfsAttrValid.OTHER_PERMS;
      Object.assign(attr, permsFromMode(changes.mode));
    }
    // A valid time with the SET hint is set as given; without the hint the host uses its clock.
    if (changes.accessTime !== undefined) {
      attr.mask |= HgfsAttrValid.ACCESS_TIME;
      if (changes.accessTime !== 'now') {
        attr.accessTime = changes.accessTime;
        hints |= HgfsAttrHint.SET_ACCESS_TIME;
      }
    }
    if (changes.writeTime !== undefined) {
      attr.mask |= HgfsAttrValid.WRITE_TIME;
      if (changes.writeTime !== 'now') {
        attr.writeTime = changes.writeTime;
        hints |= HgfsAttrHint.SET_WRITE_TIME;
      }
    }
    if (changes.userId !== undefined) {
      attr.mask |= HgfsAttrValid.USERID;
      attr.userId = changes.userId;
    }
    if (changes.groupId !== undefined) {
      attr.mask |= HgfsAttrValid.GROUPID;
      attr.groupId = changes.groupId;
    }
    await this.request(
      { op: HgfsOp.SETATTR_V3, hints, attr, fileName: nameOf(target) },
      { ...options, path: pathOf(target) },
    );
  }

  /** Opens a file; returns its handle. Masks as vmhgfs-fuse sets them. */
  async open(path: readonly string[], open: OpenOptions, options: RequestOptions = {}): Promise<number> {
    const perms = open.permissions;
    const mask =
      HgfsOpenValid.MODE |
      HgfsOpenValid.FLAGS |
      HgfsOpenValid.FILE_NAME |
      HgfsOpenValid.SERVER_LOCK |
      (perms === undefined
        ? 0n
        : HgfsOpenValid.SPECIAL_PERMS |
          HgfsOpenValid.OWNER_PERMS |
          HgfsOpenValid.GROUP_PERMS |
          HgfsOpenValid.OTHER_PERMS);
    const reply = await this.request(
      {
        op: HgfsOp.OPEN_V3,
        mask,
        mode: open.mode,
        flags: open.flags,
        ...permsFromMode(perms ?? 0),
        attr: 0n,
        allocationSize: 0n,
        desiredAccess: 0,
        shareAccess: 0,
        desiredLock: HgfsLockType.NONE,
        fileName: fileName(path),
      },
      { ...options, path },
    );
    return reply.file;
  }

  async close(file: number, options: RequestOptions = {}): Promise<void> {
    await this.request({ op: HgfsOp.CLOSE_V3, file }, options);
  }

  /** One READ_V3 of at most readChunk bytes; a reply longer than asked is an HgfsDecodeError. */
  async #readChunk(
    file: number,
    offset: bigint,
    size: number,
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    const reply = await this.request({ op: HgfsOp.READ_V3, file, offset, requiredSize: size }, { signal });
    if (reply.data.length > size) {
      throw new HgfsDecodeError(
        HgfsOp.READ_V3,
        'actualSize',
        this.#headerSize(),
        `${reply.data.length} bytes, ${size} asked`,
      );
    }
    return reply.data;
  }

  /**
   * Reads up to `length` bytes at `offset`, in readChunk pieces with up to ioWindow in flight.
   * Fewer bytes back means the end of the file came first.
   */
  async read(
    file: number,
    offset: bigint,
    length: number,
    options: RequestOptions = {},
  ): Promise<Uint8Array> {
    const chunk = this.#readChunkSize(await this.#ready(options.signal));
    const parts: Uint8Array[] = [];
    let total = 0;
    while (total < length) {
      const starts: number[] = [];
      for (let at = total; starts.length < this.#ioWindow && at < length; at += chunk) starts.push(at);
      const pieces = await Promise.all(
        starts.map((at) =>
          this.#readChunk(file, offset + BigInt(at), Math.min(chunk, length - at), options.signal),
        ),
      );
      for (const [i, piece] of pieces.entries()) {
        parts.push(piece);
        total += piece.length;
        if (piece.length < Math.min(chunk, length - starts[i]!)) return concat(parts, total);
      }
    }
    return concat(parts, total);
  }

  #readChunkSize(c: Channel): number {
    return (
      c.maxPacketSize -
      (c.framing === 'v4' ? HGFS_HEADER_SIZE : HGFS_LEGACY_HEADER_SIZE) -
      HGFS_READ_REPLY_V3_SIZE
    );
  }

  #writeChunkSize(c: Channel): number {
    const packet = Math.min(c.maxPacketSize, this.#requestLimit);
    return packet - (c.framing === 'v4' ? HGFS_HEADER_SIZE : HGFS_LEGACY_HEADER_SIZE) - WRITE_REQUEST_BODY;
  }

  /**
   * Writes `data` at `offset` in writeChunk pieces (up to ioWindow in flight; one at a time with
   * `append`, whose order matters). Returns the bytes written: all of them, or up to the first
   * piece the host wrote short.
   */
  async write(
    file: number,
    offset: bigint,
    data: Uint8Array,
    options: RequestOptions & { append?: boolean } = {},
  ): Promise<number> {
    const chunk = this.#writeChunkSize(await this.#ready(options.signal));
    const window = options.append ? 1 : this.#ioWindow;
    const flags = options.append ? HgfsWriteFlags.APPEND : 0;
    let written = 0;
    const one = async (at: number): Promise<number> => {
      const piece = data.subarray(at, Math.min(at + chunk, data.length));
      const reply = await this.request(
        { op: HgfsOp.WRITE_V3, file, flags, offset: offset + BigInt(at), data: piece },
        { signal: options.signal },
      );
      if (reply.actualSize > piece.length) {
        throw new HgfsDecodeError(
          HgfsOp.WRITE_V3,
          'actualSize',
          this.#headerSize(),
          `${reply.actualSize} bytes, ${piece.length} sent`,
        );
      }
      return reply.actualSize;
    };
    // open-vm-tools refuses a zero-byte WRITE_V3 (docs/protocol/hgfs.md §5.3); there is nothing to send.
    if (data.length === 0) return 0;
    while (written < data.length) {
      const starts: number[] = [];
      for (let at = written; starts.length < window && at < data.length; at += chunk) starts.push(at);
      const results = await Promise.all(starts.map(one));
      for (const [i, n] of results.entries()) {
        const asked = Math.min(chunk, data.length - starts[i]!);
        written += n;
        if (n < asked) return written;
      }
    }
    return written;
  }

  /**
   * The whole file: open, one READ (a file that fits ends there), else GETATTR for its size and
   * reads of exactly the rest plus one byte (so the end shows as a short read), more while it grows;
   * then close.
   */
  async readFile(path: readonly string[], options: RequestOptions = {}): Promise<Uint8Array> {
    const file = await this.open(path, { mode: HgfsOpenMode.READ_ONLY, flags: HgfsOpenFlags.OPEN }, options);
    try {
      const first = await this.read(file, 0n, this.readChunk, options);
      if (first.length < this.readChunk) return first;
      const parts = [first];
      let total = first.length;
      const { size } = await this.getattr({ handle: file }, options);
      let want = Math.max(1, Number(size) + 1 - total);
      for (;;) {
        const piece = await this.read(file, BigInt(total), want, options);
        parts.push(piece);
        total += piece.length;
        if (piece.length < want) return concat(parts, total);
        want = this.readChunk * this.#ioWindow; // it grew while we read
      }
    } finally {
      await this.close(file).catch(() => {});
    }
  }

  /** Creates or truncates the file and writes `data` (permissions for a new file: 0o644 unless given). */
  async writeFile(
    path: readonly string[],
    data: Uint8Array,
    options: RequestOptions & { permissions?: number } = {},
  ): Promise<void> {
    const file = await this.open(
      path,
      {
        mode: HgfsOpenMode.WRITE_ONLY,
        flags: HgfsOpenFlags.OPEN_CREATE_EMPTY,
        permissions: options.permissions ?? 0o644,
      },
      options,
    );
    try {
      const n = await this.write(file, 0n, data, options);
      if (n < data.length) throw new HgfsStatusError(HgfsOp.WRITE_V3, HgfsStatus.NO_SPACE, path);
    } finally {
      await this.close(file).catch(() => {});
    }
  }

  /**
   * A directory's entries with their attributes ('.' and '..' left out): SEARCH_OPEN_V3, then
   * SEARCH_READ_V3 from the next index until the host says the end (a host may return several
   * entries per reply), then SEARCH_CLOSE_V3.
   */
  async listDir(path: readonly string[], options: RequestOptions = {}): Promise<DirEntry[]> {
    const { search } = await this.request(
      { op: HgfsOp.SEARCH_OPEN_V3, dirName: fileName(path) },
      { ...options, path },
    );
    try {
      const entries: DirEntry[] = [];
      let index = 0;
      for (;;) {
        const reply = await this.request(
          { op: HgfsOp.SEARCH_READ_V3, search, offset: index, flags: 0 },
          { ...options, path },
        );
        index += reply.entries.length;
        if (index > this.#maxDirEntries) {
          throw new HgfsDecodeError(
            HgfsOp.SEARCH_READ_V3,
            'count',
            0,
            `over ${this.#maxDirEntries} entries in one directory`,
          );
        }
        for (const e of reply.entries) if (e.name !== '.' && e.name !== '..') entries.push(e);
        if (reply.end || reply.entries.length === 0) return entries;
      }
    } finally {
      await this.request({ op: HgfsOp.SEARCH_CLOSE_V3, search }).catch(() => {});
    }
  }

  /** The shares: the listing of the root. */
  listShares(options: RequestOptions = {}): Promise<DirEntry[]> {
    return this.listDir([], options);
  }

  async mkdir(path: readonly string[], mode = 0o755, options: RequestOptions = {}): Promise<void> {
    await this.request(
      {
        op: HgfsOp.CREATE_DIR_V3,
        mask:
          HgfsCreateDirValid.FILE_NAME |
          HgfsCreateDirValid.SPECIAL_PERMS |
          HgfsCreateDirValid.OWNER_PERMS |
          HgfsCreateDirValid.GROUP_PERMS |
          HgfsCreateDirValid.OTHER_PERMS,
        ...permsFromMode(mode),
        fileAttr: 0n,
        fileName: fileName(path),
      },
      { ...options, path },
    );
  }

  async removeFile(path: readonly string[], options: RequestOptions = {}): Promise<void> {
    await this.request(
      { op: HgfsOp.DELETE_FILE_V3, hints: 0n, fileName: fileName(path) },
      { ...options, path },
    );
  }

  async removeDir(path: readonly string[], options: RequestOptions = {}): Promise<void> {
    await this.request(
      { op: HgfsOp.DELETE_DIR_V3, hints: 0n, fileName: fileName(path) },
      { ...options, path },
    );
  }

  async rename(
    from: readonly string[],
    to: readonly string[],
    options: RequestOptions & { noReplace?: boolean } = {},
  ): Promise<void> {
    await this.request(
      {
        op: HgfsOp.RENAME_V3,
        hints: options.noReplace ? HgfsRenameHint.NO_REPLACE_EXISTING : 0n,
        oldName: fileName(from),
        newName: fileName(to),
      },
      { signal: options.signal, path: from },
    );
  }

  /** Creates a symlink at `path` pointing at `target` (sent exactly). */
  async symlink(path: readonly string[], target: string, options: RequestOptions = {}): Promise<void> {
    await this.request(
      { op: HgfsOp.CREATE_SYMLINK_V3, symlinkName: fileName(path), target },
      { ...options, path },
    );
  }

  async queryVolume(
    path: readonly string[],
    options: RequestOptions = {},
  ): Promise<{ freeBytes: bigint; totalBytes: bigint }> {
    const r = await this.request(
      { op: HgfsOp.QUERY_VOLUME_INFO_V3, fileName: fileName(path) },
      { ...options, path },
    );
    return { freeBytes: r.freeBytes, totalBytes: r.totalBytes };
  }

  /** Ends the session (if any); the next request negotiates again. Handles of the old one are gone. */
  async destroySession(options: RequestOptions = {}): Promise<void> {
    const c = this.#channel;
    this.#channel = undefined;
    if (c?.framing !== 'v4') return;
    const requestId = this.#takeId();
    try {
      const bytes = await this.#transport(
        encodeRequest(
          { op: HgfsOp.DESTROY_SESSION_V4 },
          { framing: 'v4', requestId, sessionId: c.sessionId },
        ),
        options.signal,
      );
      const d = decodeReply(bytes, { framing: 'v4', requestId, op: HgfsOp.DESTROY_SESSION_V4 });
      if (d.status !== HgfsStatus.SUCCESS) throw new HgfsStatusError(HgfsOp.DESTROY_SESSION_V4, d.status);
    } finally {
      this.#inFlight.delete(requestId);
    }
  }
}

function nameOf(t: PathOrHandle): FileNameV3 {
  return isHandle(t) ? fileHandle(t.handle) : fileName(t);
}

/** The path a request names, for error messages. */
function requestPath(req: HgfsRequest): readonly string[] | undefined {
  switch (req.op) {
    case HgfsOp.SEARCH_OPEN_V3:
      return req.dirName.path;
    case HgfsOp.RENAME_V3:
      return req.oldName.path;
    case HgfsOp.CREATE_SYMLINK_V3:
      return req.symlinkName.path;
    default:
      return 'fileName' in req && (req.fileName.flags & HgfsFileNameFlags.USE_FILE_DESC) === 0
        ? req.fileName.path
        : undefined;
  }
}

/** `p`, or an HgfsTransportError as soon as `signal` aborts (p itself carries on). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  const aborted = () =>
    new HgfsTransportError(
      signal.reason instanceof Error ? signal.reason.message : 'the request was aborted',
      { cause: signal.reason },
    );
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === total) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p.subarray(0, total - at), at);
    at += Math.min(p.length, total - at);
    if (at >= total) break;
  }
  return out;
}
