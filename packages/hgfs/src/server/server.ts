/**
 * The HGFS server role: answers each request packet synchronously from real files, as open-vm-tools'
 * server library does. That library is both the server a VMware host runs for its shared folders
 * (behind the guest's RPCI `f `) and the one vmtoolsd's hgfsServer plugin runs in the guest for
 * drag-and-drop (behind the host's TCLO `f `); the two differ only in their share policy, which
 * this server is given (ShareTable). Every fact it relies on, with its source, is in
 * docs/protocol/hgfs.md, "Server role".
 */
import { randomBytes } from 'node:crypto';
import {
  type BigIntStats,
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  ftruncateSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  renameSync,
  rmdirSync,
  statfsSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { emptyAttr, type HgfsAttrV2 } from '../attr.js';
import {
  HGFS_HEADER_SIZE,
  HGFS_LARGE_PACKET_MAX,
  HGFS_LEGACY_HEADER_SIZE,
  HGFS_LEGACY_LARGE_PACKET_MAX,
  HGFS_MAX_SESSIONS,
  HGFS_READ_REPLY_V3_SIZE,
  HgfsAttrHint,
  HgfsAttrValid,
  HgfsCreateDirValid,
  HgfsDeleteHint,
  HgfsFileNameFlags,
  HgfsFileType,
  HgfsLockType,
  HgfsOp,
  HgfsOpCapFlags,
  HgfsOpenFlags,
  HgfsOpenMode,
  HgfsOpenValid,
  HgfsRenameHint,
  HgfsSessionFlags,
  HgfsStatus,
  HgfsWriteFlags,
  opName,
  statusName,
} from '../constants.js';
import { HgfsDecodeError, type ReplyAddress } from '../errors.js';
import {
  CODEC_OPS,
  type CreateDirRequest,
  type DeleteRequest,
  type DirEntry,
  type FileNameV3,
  type GetattrRequest,
  type HgfsReply,
  type HgfsRequest,
  type OpCapability,
  type OpenRequest,
  type ReadRequest,
  type RenameRequest,
  type SetattrRequest,
} from '../messages.js';
import {
  type DecodedRequest,
  decodeRequest,
  encodeErrorReply,
  encodeReply,
  UNREAD_V4_HEADER,
} from '../packets.js';
import { ntTimeToUnixNs } from '../time.js';
import { attrFromStats, attrOfPath, virtualDirAttr } from './attrs.js';
import { type OpenFile, OpenFiles } from './files.js';
import { PathRefused, type RefusalKind } from './paths.js';
import type { Location, Share, ShareTable } from './policy.js';
import { errnoError, HgfsFailure, statusOf } from './status.js';

export interface HgfsServerOptions<S extends ShareTable = ShareTable> {
  /** The share policy: which names are served, and where they are (HostShares, GuestShares). */
  shares: S;
  /**
   * The host's `hgfs.packetSize.large` setting (default true): packets up to HGFS_LARGE_PACKET_MAX,
   * else the legacy HGFS_LEGACY_LARGE_PACKET_MAX.
   */
  largePackets?: boolean;
  /** Sessions at once (default HGFS_MAX_SESSIONS, open-vm-tools' MAX_SESSION_COUNT). */
  maxSessions?: number;
  /** Open file handles per session (default 4096). */
  maxOpenFiles?: number;
  /** Descriptors a session keeps open; the other handles reopen by name (default 30, HGFS_MAX_CACHED_FILENODES). */
  maxCachedFds?: number;
  /**
   * Searches a session keeps (default 256); opening one more forgets the least recently used.
   * vmhgfs-fuse never closes its searches, so a host's list only grows.
   */
  maxSearches?: number;
  /** Records kept in the op log (default 10000). */
  logLimit?: number;
  /** The server's clock, ms (virtual directories' times, "set to now"). Default Date.now. */
  now?: () => number;
  /**
   * Called after every request, dropped ones included, with its record (progress, activity). It
   * runs inside handle(): an observer that throws is counted in state().observerFailures and
   * otherwise ignored (the reply is already decided).
   */
  observe?: (rec: HgfsOpRecord) => void;
}

/** One served request, for the console and tests. */
export interface HgfsOpRecord {
  seq: number;
  /** ms since the server started. */
  t: number;
  /** `OPEN_V3`, …, or `(dropped)` for a packet that got no reply. */
  op: string;
  /** `SUCCESS`, `NO_SUCH_FILE_OR_DIR`, …; `(none)` for a dropped packet. */
  status: string;
  /** The name the request was about, `share/dir/file` ('' for the virtual root). */
  path?: string;
  /** Request and reply sizes in bytes (HGFS packets, without `f ` / `1 `). */
  requestBytes: number;
  replyBytes: number;
  /** Why, when the server refused or failed it. */
  detail?: string;
  /** Data bytes a successful READ_V3 or WRITE_V3 moved. */
  bytes?: number;
  /**
   * The real path the request resolved to: the named file for name operations (the source of a
   * RENAME_V3), the open file's current path for handle operations. Absent when the name was
   * refused before it resolved.
   */
  realPath?: string;
  /**
   * Set when the share policy refused a name the request gave (PathRefused's kind: `escape` for
   * a name outside the share or every grant, `no-share`, `invalid-name` for `.`/`..`, …), so the
   * failure is the policy's and not the file system's (docs/protocol/hgfs.md, "Records and observe").
   */
  refusal?: RefusalKind;
  /**
   * Set when the packet or its body did not decode: dropped packets, a V4 header that failed its
   * checks, a body cut short, a name field that is not a name. An operation we do not implement,
   * a stale session or a refused name is not malformed.
   */
  malformed?: true;
}

interface Session {
  readonly id: bigint;
  readonly files: OpenFiles;
  readonly searches: Map<number, Search>;
}

interface Search {
  /** The real directory listed, or undefined for the virtual root (the shares). */
  readonly dir: string | undefined;
  readonly share: Share | undefined;
  /** Entry names, `.` and `..` first, taken when the search was opened. */
  names: string[];
  /** The last entry was read (a virtual root search then starts afresh from index 0). */
  readAll: boolean;
}

/**
 * What CREATE_SESSION_V4 says this host does: every operation @vmw9/hgfs has a codec for (the V3
 * operations and the session ops), each of which the server below answers.
 */
const SUPPORTED_OPS: ReadonlySet<number> = new Set(CODEC_OPS);

/** One capability per operation 0..SET_EAS_V4, as a host's table lists them (docs/protocol/hgfs.md, "Sessions and handles"). */
const CAPABILITIES: OpCapability[] = Array.from({ length: HgfsOp.SET_EAS_V4 + 1 }, (_, op) => ({
  op,
  flags: SUPPORTED_OPS.has(op) ? HgfsOpCapFlags.IS_SUPPORTED : HgfsOpCapFlags.NOT_SUPPORTED,
}));

/** Open flags by HgfsOpenFlags value (docs/protocol/hgfs.md, "Server role", OPEN_V3). */
const OPEN_FLAGS = [
  0,
  constants.O_TRUNC,
  constants.O_CREAT,
  constants.O_CREAT | constants.O_EXCL,
  constants.O_CREAT | constants.O_TRUNC,
];
const ACCESS = [constants.O_RDONLY, constants.O_WRONLY, constants.O_RDWR];

const nameOf = (path: readonly string[]): string => path.join('/');

/**
 * The status for a request whose body did not decode: INVALID_NAME / NAME_TOO_LONG for a bad name
 * (a host fails CPName conversion with EINVAL, an over-long name with ENAMETOOLONG), else
 * PROTOCOL_ERROR.
 */
function decodeStatus(e: HgfsDecodeError): number {
  const problem = e.problem;
  if (problem === 'invalid-name') return HgfsStatus.INVALID_NAME;
  if (problem === 'name-too-long') return HgfsStatus.NAME_TOO_LONG;
  return HgfsStatus.PROTOCOL_ERROR;
}

/** The name(s) a request is about, for the log: `share/dir/file`, `#handle`, `old -> new`. */
function describeName(req: HgfsRequest): string | undefined {
  const one = (n: FileNameV3) =>
    (n.flags & HgfsFileNameFlags.USE_FILE_DESC) !== 0 ? `#${n.fid}` : nameOf(n.path);
  if ('fileName' in req) return one(req.fileName);
  if ('dirName' in req) return one(req.dirName);
  if ('oldName' in req) return `${one(req.oldName)} -> ${one(req.newName)}`;
  if ('symlinkName' in req) return `${one(req.symlinkName)} -> ${JSON.stringify(req.target)}`;
  if ('file' in req) return `#${req.file}`;
  if ('search' in req) return `#${req.search}`;
  return undefined;
}

const byHandle = (name: FileNameV3, hint: boolean): boolean =>
  hint || (name.flags & HgfsFileNameFlags.USE_FILE_DESC) !== 0;

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export class HgfsServer<S extends ShareTable = ShareTable> {
  /** The share policy. Withdrawing a share closes the files and searches the client had in it, as a host does. */
  readonly shares: S;
  /** The host's `hgfs.packetSize.large`: large packets when true, legacy ones when false. */
  largePackets: boolean;
  readonly maxSessions: number;
  private readonly maxOpenFiles: number;
  private readonly maxCachedFds: number;
  private readonly maxSearches: number;
  private readonly logLimit: number;
  private readonly now: () => number;
  private readonly started = Date.now();
  private readonly sessions = new Map<bigint, Session>();
  /** The session legacy-header requests run in (created on first use, as a host does). */
  private defaultSession: bigint | undefined;
  /** Handles for files and searches come from one counter, as on a host. */
  private nextHandle = 1;
  private records: HgfsOpRecord[] = [];
  private seq = 0;
  private readonly opCounts: Record<string, number> = {};
  private readonly statusCounts: Record<string, number> = {};
  private readonly observe: ((rec: HgfsOpRecord) => void) | undefined;
  private observerFailures = 0;
  /** What the request being served touched, for its record. */
  private touched: { realPath?: string; bytes?: number; refusal?: RefusalKind; malformed?: true } = {};

  constructor(opts: HgfsServerOptions<S>) {
    this.shares = opts.shares;
    this.shares.onWithdraw((share) => this.shareRemoved(share));
    this.largePackets = opts.largePackets ?? true;
    this.maxSessions = opts.maxSessions ?? HGFS_MAX_SESSIONS;
    this.maxOpenFiles = opts.maxOpenFiles ?? 4096;
    this.maxCachedFds = opts.maxCachedFds ?? 30;
    this.maxSearches = opts.maxSearches ?? 256;
    this.logLimit = opts.logLimit ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.observe = opts.observe;
  }

  /** The largest packet this host takes and sends: what CREATE_SESSION_V4 offers at most. */
  get maxPacketSize(): number {
    return this.largePackets ? HGFS_LARGE_PACKET_MAX : HGFS_LEGACY_LARGE_PACKET_MAX;
  }

  /** Sessions, open files and searches now; observer calls that threw so far. */
  state(): {
    sessions: number;
    openFiles: number;
    descriptors: number;
    searches: number;
    observerFailures: number;
  } {
    let openFiles = 0;
    let descriptors = 0;
    let searches = 0;
    for (const s of this.sessions.values()) {
      openFiles += s.files.size;
      descriptors += s.files.descriptors;
      searches += s.searches.size;
    }
    return {
      sessions: this.sessions.size,
      openFiles,
      descriptors,
      searches,
      observerFailures: this.observerFailures,
    };
  }

  /** Requests served per operation name (exact however long the run), e.g. { OPEN_V3: 2 }. */
  counts(): Record<string, number> {
    return { ...this.opCounts };
  }

  /** Replies per status name. */
  statuses(): Record<string, number> {
    return { ...this.statusCounts };
  }

  /** The last requests served (bounded). */
  log(): readonly HgfsOpRecord[] {
    return this.records;
  }

  /** A host reset (VM restart): every session, open file and search is gone. */
  reset(): void {
    for (const s of this.sessions.values()) this.closeSession(s);
    this.sessions.clear();
    this.defaultSession = undefined;
  }

  /**
   * Serves one request packet (the bytes after `f `). Returns the reply packet, or undefined when
   * a host drops the packet without a reply (too short to have a header, or a header it cannot read).
   */
  handle(packet: Uint8Array): Uint8Array | undefined {
    this.touched = {};
    let decoded: DecodedRequest;
    try {
      decoded = decodeRequest(packet);
    } catch (e) {
      this.touched.malformed = true;
      if (!(e instanceof HgfsDecodeError) || !e.replyTo) {
        // Nothing to answer to (or a decoder bug, which must not stop the host): dropped.
        const why = e instanceof HgfsDecodeError ? e.message : `internal: ${(e as Error).message}`;
        this.record('(dropped)', '(none)', packet.length, 0, undefined, why);
        return undefined;
      }
      // A V4 header that failed the checks made before its ids are read names no session (its
      // address says HGFS_INVALID_SESSION_ID), so the session check below answers STALE_SESSION, as
      // a host's does (docs/protocol/hgfs.md §3.3).
      const op = e.replyTo === UNREAD_V4_HEADER ? '(bad header)' : undefined;
      // Otherwise a readable header with a bad body: the session is checked first, as a host does.
      // A bad name is the status a host gives for it, anything else PROTOCOL_ERROR.
      const stale = this.staleSession(e.replyTo);
      return this.fail(e.replyTo, stale ?? decodeStatus(e), packet.length, undefined, e.message, op);
    }
    const { address } = decoded;
    const stale = this.staleSession(address);
    if (stale !== undefined) return this.fail(address, stale, packet.length, undefined, 'unknown session');
    if (decoded.kind === 'unsupported')
      return this.fail(
        address,
        HgfsStatus.PROTOCOL_ERROR,
        packet.length,
        undefined,
        'operation not implemented',
      );
    const req = decoded.request;
    const path = describeName(req);
    try {
      const session = req.op === HgfsOp.CREATE_SESSION_V4 ? undefined : this.sessionFor(address);
      const reply = encodeReply(address, this.serve(req, session, address));
      this.record(opName(req.op), 'SUCCESS', packet.length, reply.length, path);
      return reply;
    } catch (e) {
      let status: number;
      let detail = (e as Error).message;
      try {
        status = statusOf(e);
      } catch {
        // A bug of ours, not a host's answer: keep serving, and say so in the log.
        status = HgfsStatus.GENERIC_ERROR;
        detail = `internal: ${detail}`;
      }
      return this.fail(address, status, packet.length, path, detail);
    }
  }

  // ---- sessions --------------------------------------------------------------------------------

  /** STALE_SESSION for a V4 request naming no open session (CREATE_SESSION_V4 needs none). */
  private staleSession(address: ReplyAddress): number | undefined {
    if (address.framing !== 'v4' || address.op === HgfsOp.CREATE_SESSION_V4) return undefined;
    return this.sessions.has(address.sessionId) ? undefined : HgfsStatus.STALE_SESSION;
  }

  private sessionFor(address: ReplyAddress): Session {
    if (address.framing === 'v4') return this.sessions.get(address.sessionId)!;
    const existing = this.defaultSession === undefined ? undefined : this.sessions.get(this.defaultSession);
    if (existing) return existing;
    const s = this.newSession();
    this.defaultSession = s.id;
    return s;
  }

  private newSession(): Session {
    if (this.sessions.size >= this.maxSessions)
      throw new HgfsFailure(
        HgfsStatus.TOO_MANY_SESSIONS,
        `${this.sessions.size} sessions are open (at most ${this.maxSessions})`,
      );
    let id: bigint;
    do id = randomBytes(8).readBigUInt64LE(0);
    while (id === 0n || id === 0xffffffffffffffffn || this.sessions.has(id));
    const s: Session = {
      id,
      files: new OpenFiles(this.maxOpenFiles, this.maxCachedFds),
      searches: new Map(),
    };
    this.sessions.set(id, s);
    return s;
  }

  private shareRemoved(share: Share): void {
    for (const s of this.sessions.values()) {
      s.files.closeShare(share);
      for (const [h, search] of s.searches) if (search.share === share) s.searches.delete(h);
    }
  }

  private closeSession(s: Session): void {
    s.files.closeAll();
    s.searches.clear();
  }

  private handleNumber(): number {
    const h = this.nextHandle;
    // 0xFFFFFFFF is HGFS_INVALID_HANDLE; the counter wraps past it.
    this.nextHandle = h >= 0xfffffffe ? 1 : h + 1;
    return h;
  }

  // ---- dispatch --------------------------------------------------------------------------------

  private serve(req: HgfsRequest, session: Session | undefined, address: ReplyAddress): HgfsReply {
    if (req.op === HgfsOp.CREATE_SESSION_V4) {
      const s = this.newSession();
      // The session's packet size: the smaller of the client's and this host's.
      const max = Math.min(req.maxPacketSize, this.maxPacketSize);
      return {
        op: req.op,
        sessionId: s.id,
        maxPacketSize: max,
        flags: HgfsSessionFlags.MAXPACKETSIZE_VALID,
        capabilities: CAPABILITIES,
      };
    }
    const s = session!;
    switch (req.op) {
      case HgfsOp.DESTROY_SESSION_V4:
        this.closeSession(s);
        this.sessions.delete(s.id);
        if (this.defaultSession === s.id) this.defaultSession = undefined;
        return { op: req.op };
      case HgfsOp.OPEN_V3:
        return this.open(s, req);
      case HgfsOp.READ_V3:
        return this.read(s, req, address);
      case HgfsOp.WRITE_V3: {
        const f = this.file(s, req.file);
        const append = (req.flags & HgfsWriteFlags.APPEND) !== 0;
        const fd = s.files.fd(f, append);
        if (req.offset > BigInt(Number.MAX_SAFE_INTEGER)) throw errnoError('EFBIG', `offset ${req.offset}`);
        // A limit on what may be written here (GuestShares' grantWrite): the whole write is refused,
        // so nothing past the limit reaches the file (docs/protocol/hgfs.md, "The guest's shares").
        const account = f.share.writes;
        if (account && req.data.length > account.remaining)
          throw new HgfsFailure(
            HgfsStatus.NO_SPACE,
            `a write of ${req.data.length} bytes is over the ${account.remaining} bytes left to write under ${f.share.root}`,
          );
        const n = writeSync(fd, req.data, 0, req.data.length, append ? null : Number(req.offset));
        account?.wrote(n);
        this.touched.bytes = n;
        return { op: req.op, actualSize: n };
      }
      case HgfsOp.CLOSE_V3:
        this.touched.realPath = s.files.get(req.file)?.path;
        if (!s.files.close(req.file)) throw errnoError('EBADF', `no open file with handle ${req.file}`);
        return { op: req.op };
      case HgfsOp.SEARCH_OPEN_V3:
        return this.searchOpen(s, req.dirName);
      case HgfsOp.SEARCH_READ_V3:
        return this.searchRead(s, req.search, req.offset);
      case HgfsOp.SEARCH_CLOSE_V3:
        if (!s.searches.delete(req.search))
          throw errnoError('EBADF', `no open search with handle ${req.search}`);
        return { op: req.op };
      case HgfsOp.GETATTR_V3:
        return this.getattr(s, req);
      case HgfsOp.SETATTR_V3:
        return this.setattr(s, req);
      case HgfsOp.CREATE_DIR_V3:
        this.createDir(req);
        return { op: req.op };
      case HgfsOp.DELETE_FILE_V3:
      case HgfsOp.DELETE_DIR_V3:
        return this.remove(s, req);
      case HgfsOp.RENAME_V3:
        return this.rename(s, req);
      case HgfsOp.QUERY_VOLUME_INFO_V3:
        return { op: req.op, ...this.volume(req.fileName.path) };
      case HgfsOp.CREATE_SYMLINK_V3:
        this.symlink(req.symlinkName, req.target);
        return { op: req.op };
      default:
        throw new HgfsFailure(
          HgfsStatus.PROTOCOL_ERROR,
          `operation ${opName((req as HgfsRequest).op)} not implemented`,
        );
    }
  }

  // ---- names -----------------------------------------------------------------------------------

  private resolve(path: readonly string[], followFinal = false): Location {
    let loc: Location;
    try {
      loc = this.shares.resolve(path, { followFinal });
    } catch (e) {
      // The policy's refusal, for the record (a handler may answer it with another status).
      if (e instanceof PathRefused) this.touched.refusal ??= e.kind;
      throw e;
    }
    if (loc.kind === 'path') this.touched.realPath ??= loc.path;
    return loc;
  }

  /** A name that must be a real file or directory (the virtual root is not: EINVAL, as on a host). */
  private real(path: readonly string[], followFinal = false): Extract<Location, { kind: 'path' }> {
    const loc = this.resolve(path, followFinal);
    if (loc.kind === 'root') throw errnoError('EINVAL', 'the root of the shares is not a file');
    return loc;
  }

  private file(s: Session, handle: number): OpenFile {
    const f = s.files.get(handle);
    if (!f) throw errnoError('EBADF', `no open file with handle ${handle}`);
    this.touched.realPath ??= f.path;
    return f;
  }

  // ---- operations ------------------------------------------------------------------------------

  private open(s: Session, req: OpenRequest): HgfsReply {
    if ((req.mask & HgfsOpenValid.MODE) === 0n || (req.mask & HgfsOpenValid.FLAGS) === 0n)
      throw new HgfsFailure(HgfsStatus.PROTOCOL_ERROR, 'OPEN_V3 without a mode or flags');
    const accessMode = req.mode & HgfsOpenMode.ACCMODES;
    if (
      accessMode > HgfsOpenMode.READ_WRITE ||
      (req.mode & ~(HgfsOpenMode.ACCMODES | HgfsOpenMode.SEQUENTIAL)) !== 0
    )
      throw errnoError('EPROTO', `open mode ${req.mode}`);
    if (req.flags >= OPEN_FLAGS.length) throw errnoError('EPROTO', `open flags ${req.flags}`);
    const creating =
      req.flags === HgfsOpenFlags.OPEN_CREATE ||
      req.flags === HgfsOpenFlags.OPEN_CREATE_SAFE ||
      req.flags === HgfsOpenFlags.OPEN_CREATE_EMPTY;
    let loc: Extract<Location, { kind: 'path' }>;
    try {
      loc = this.real(req.fileName.path);
    } catch (e) {
      // A new name right under the root (where only shares live): creating it is refused.
      if (e instanceof PathRefused && e.kind === 'no-share' && creating && req.fileName.path.length === 1)
        throw errnoError('EACCES', `cannot create ${nameOf(req.fileName.path)} beside the shares`);
      throw e;
    }
    let flags = req.flags;
    let denyCreating = false;
    if (loc.share.readOnly) {
      if (flags !== HgfsOpenFlags.OPEN && flags !== HgfsOpenFlags.OPEN_CREATE)
        throw errnoError('EACCES', `share ${loc.share.name} is read-only`);
      if (flags === HgfsOpenFlags.OPEN_CREATE) {
        flags = HgfsOpenFlags.OPEN;
        denyCreating = true;
      }
      if (accessMode !== HgfsOpenMode.READ_ONLY) {
        if (exists(loc.path)) throw errnoError('EACCES', `share ${loc.share.name} is read-only`);
        throw errnoError('ENOENT', `${nameOf(req.fileName.path)} does not exist`);
      }
    }
    const perm = (valid: bigint, bits: number, fallback: number) =>
      (req.mask & valid) !== 0n ? bits : fallback;
    const owner = perm(HgfsOpenValid.OWNER_PERMS, req.ownerPerms, 6);
    const mode =
      (perm(HgfsOpenValid.SPECIAL_PERMS, req.specialPerms, 0) << 9) |
      (owner << 6) |
      (perm(HgfsOpenValid.GROUP_PERMS, req.groupPerms, owner) << 3) |
      perm(HgfsOpenValid.OTHER_PERMS, req.otherPerms, owner);
    if (s.files.full)
      throw new HgfsFailure(HgfsStatus.GENERIC_ERROR, `${s.files.size} files are open in this session`);
    let fd: number;
    try {
      fd = openSync(
        loc.path,
        ACCESS[accessMode]! | OPEN_FLAGS[flags]! | constants.O_NONBLOCK | constants.O_NOFOLLOW,
        mode,
      );
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && denyCreating)
        throw errnoError('EACCES', `share ${loc.share.name} is read-only`);
      // O_NONBLOCK met a lease: the host says access denied.
      if (code === 'EAGAIN') throw errnoError('EACCES', `${loc.path} is busy`);
      throw e;
    }
    let st: BigIntStats;
    try {
      st = fstatSync(fd, { bigint: true });
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
    const handle = this.handleNumber();
    s.files.add({
      handle,
      path: loc.path,
      share: loc.share,
      access: ACCESS[accessMode]!,
      fd,
      dev: st.dev,
      ino: st.ino,
    });
    return { op: HgfsOp.OPEN_V3, file: handle, acquiredLock: HgfsLockType.NONE, flags: 0 };
  }

  private read(s: Session, req: ReadRequest, address: ReplyAddress): HgfsReply {
    // The reply must fit the host's packet, counted as open-vm-tools does: header,
    // sizeof(HgfsReplyReadV3) = 13 (its one-byte payload too), the data. Checked before the handle;
    // a host fails it with EINVAL, so INVALID_NAME (docs/protocol/hgfs.md, "Packet sizes").
    const header = address.framing === 'v4' ? HGFS_HEADER_SIZE : HGFS_LEGACY_HEADER_SIZE;
    if (header + HGFS_READ_REPLY_V3_SIZE + req.requiredSize > this.maxPacketSize)
      throw errnoError(
        'EINVAL',
        `a read of ${req.requiredSize} bytes does not fit a ${this.maxPacketSize}-byte packet`,
      );
    const f = this.file(s, req.file);
    const fd = s.files.fd(f);
    const buf = Buffer.allocUnsafe(req.requiredSize);
    const n = readSync(fd, buf, 0, req.requiredSize, req.offset);
    this.touched.bytes = n;
    return { op: HgfsOp.READ_V3, data: buf.subarray(0, n) };
  }

  private searchOpen(s: Session, dirName: FileNameV3): HgfsReply {
    const loc = this.resolve(dirName.path);
    let search: Search;
    if (loc.kind === 'root') {
      search = { dir: undefined, share: undefined, names: this.rootNames(), readAll: false };
    } else {
      // O_DIRECTORY | O_NOFOLLOW on a host: a symlink is not listed through.
      if (lstatSync(loc.path).isSymbolicLink()) throw errnoError('ELOOP', `${loc.path} is a symlink`);
      const names: string[] = ['.', '..'];
      for (const raw of readdirSync(loc.path, { encoding: 'buffer' })) {
        // A host leaves out names that are not UTF-8 (docs/protocol/hgfs.md, SEARCH_OPEN_V3).
        const name = raw.toString('utf8');
        if (Buffer.from(name, 'utf8').equals(raw)) names.push(name);
      }
      search = { dir: loc.path, share: loc.share, names, readAll: false };
    }
    // vmhgfs-fuse opens a search per readdir and never closes it: the oldest are forgotten.
    while (s.searches.size >= this.maxSearches) s.searches.delete(s.searches.keys().next().value!);
    const handle = this.handleNumber();
    s.searches.set(handle, search);
    return { op: HgfsOp.SEARCH_OPEN_V3, search: handle };
  }

  private rootNames(): string[] {
    return ['.', '..', ...this.shares.list().map((sh) => sh.name)];
  }

  private searchRead(s: Session, handle: number, index: number): HgfsReply {
    const search = s.searches.get(handle);
    if (!search) throw errnoError('EBADF', `no open search with handle ${handle}`);
    s.searches.delete(handle);
    s.searches.set(handle, search);
    // Reading the shares again from the start lists them as they are now (docs/protocol/hgfs.md, SEARCH_READ_V3).
    if (search.dir === undefined && index === 0 && search.readAll) {
      search.names = this.rootNames();
      search.readAll = false;
    }
    if (index >= search.names.length) {
      search.readAll = true;
      return { op: HgfsOp.SEARCH_READ_V3, entries: [], end: true };
    }
    const name = search.names[index]!;
    // One entry per reply: a host answers SEARCH_READ_V3 with a single record.
    return { op: HgfsOp.SEARCH_READ_V3, entries: [{ name, attr: this.entryAttr(search, name) }], end: false };
  }

  private entryAttr(search: Search, name: string): DirEntry['attr'] {
    if (search.dir === undefined) {
      if (name === '.' || name === '..') return virtualDirAttr(this.now());
      const share = this.shares.get(name);
      try {
        if (share) return attrOfPath(share.root, share.readOnly);
      } catch {}
      return emptyAttr();
    }
    try {
      return attrOfPath(`${search.dir}/${name}`, search.share!.readOnly);
    } catch {
      // Gone since the listing: a host still lists it, as a regular file with nothing else known.
      const a = emptyAttr();
      a.mask = HgfsAttrValid.TYPE;
      a.type = HgfsFileType.REGULAR;
      return a;
    }
  }

  private getattr(s: Session, req: GetattrRequest): HgfsReply {
    if (byHandle(req.fileName, (req.hints & HgfsAttrHint.USE_FILE_DESC) !== 0n)) {
      const f = this.file(s, req.fileName.fid);
      const attr = attrFromStats(fstatSync(s.files.fd(f), { bigint: true }));
      return { op: HgfsOp.GETATTR_V3, attr, symlinkTarget: '' };
    }
    const loc = this.resolve(req.fileName.path);
    if (loc.kind === 'root')
      return { op: HgfsOp.GETATTR_V3, attr: virtualDirAttr(this.now()), symlinkTarget: '' };
    let attr: HgfsAttrV2;
    try {
      attr = attrOfPath(loc.path, loc.share.readOnly);
    } catch (e) {
      // A share whose directory is gone: an I/O error, not "no such file" for a listed name.
      if (loc.shareRoot && (e as NodeJS.ErrnoException).code === 'ENOENT')
        throw errnoError('EIO', `share ${loc.share.name}: ${loc.share.root} is gone`);
      throw e;
    }
    // readlink's exact bytes: the target is reported, never followed.
    const symlinkTarget = attr.type === HgfsFileType.SYMLINK ? readlinkSync(loc.path, 'utf8') : '';
    return { op: HgfsOp.GETATTR_V3, attr, symlinkTarget };
  }

  private setattr(s: Session, req: SetattrRequest): HgfsReply {
    const a = req.attr;
    const V = HgfsAttrValid;
    const nowNs = BigInt(this.now()) * 1_000_000n;
    const timeNs = (valid: bigint, hint: bigint, value: bigint, current: bigint): bigint =>
      (a.mask & valid) === 0n ? current : (req.hints & hint) !== 0n ? ntTimeToUnixNs(value) : nowNs;
    const toSeconds = (ns: bigint) => Number(ns) / 1e9;
    const newMode = (current: number): number | undefined => {
      const perms = V.SPECIAL_PERMS | V.OWNER_PERMS | V.GROUP_PERMS | V.OTHER_PERMS;
      if ((a.mask & perms) === 0n) return undefined;
      const pick = (valid: bigint, bits: number, shift: number) =>
        (a.mask & valid) !== 0n ? (bits & 7) << shift : current & (7 << shift);
      return (
        pick(V.SPECIAL_PERMS, a.specialPerms, 9) |
        pick(V.OWNER_PERMS, a.ownerPerms, 6) |
        pick(V.GROUP_PERMS, a.groupPerms, 3) |
        pick(V.OTHER_PERMS, a.otherPerms, 0)
      );
    };
    const size = (): number | undefined => {
      if ((a.mask & V.SIZE) === 0n) return undefined;
      if (a.size > BigInt(Number.MAX_SAFE_INTEGER)) throw errnoError('EFBIG', `size ${a.size}`);
      return Number(a.size);
    };
    const ids = (): [number, number] | undefined => {
      if ((a.mask & (V.USERID | V.GROUPID)) === 0n) return undefined;
      return [(a.mask & V.USERID) !== 0n ? a.userId : -1, (a.mask & V.GROUPID) !== 0n ? a.groupId : -1];
    };
    // Each change is tried even when one fails; the answer is the last failure (docs/protocol/hgfs.md, SETATTR_V3).
    let failure: unknown;
    const attempt = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        failure = e;
      }
    };
    const times = (st: { atimeNs: bigint; mtimeNs: bigint }): [number, number] | undefined => {
      if ((a.mask & (V.ACCESS_TIME | V.WRITE_TIME)) === 0n) return undefined;
      return [
        toSeconds(timeNs(V.ACCESS_TIME, HgfsAttrHint.SET_ACCESS_TIME, a.accessTime, st.atimeNs)),
        toSeconds(timeNs(V.WRITE_TIME, HgfsAttrHint.SET_WRITE_TIME, a.writeTime, st.mtimeNs)),
      ];
    };

    if (byHandle(req.fileName, (req.hints & HgfsAttrHint.USE_FILE_DESC) !== 0n)) {
      const f = this.file(s, req.fileName.fid);
      if (f.share.readOnly) throw errnoError('EACCES', `share ${f.share.name} is read-only`);
      const fd = s.files.fd(f);
      const st = fstatSync(fd, { bigint: true });
      const id = ids();
      if (id) attempt(() => fchownSync(fd, id[0], id[1]));
      const m = newMode(Number(st.mode));
      if (m !== undefined) attempt(() => fchmodSync(fd, m));
      attempt(() => {
        const n = size();
        if (n !== undefined) ftruncateSync(fd, n);
      });
      const t = times(st);
      if (t) attempt(() => futimesSync(fd, t[0], t[1]));
      if (failure) throw failure;
      return { op: HgfsOp.SETATTR_V3 };
    }
    const loc = this.real(req.fileName.path);
    if (loc.share.readOnly) throw errnoError('EACCES', `share ${loc.share.name} is read-only`);
    const st = lstatSync(loc.path, { bigint: true });
    // chmod, truncate and utimes would follow a final symlink: a host refuses (EINVAL).
    if (st.isSymbolicLink()) throw errnoError('EINVAL', `${nameOf(req.fileName.path)} is a symlink`);
    const id = ids();
    if (id) attempt(() => chownSync(loc.path, id[0], id[1]));
    const m = newMode(Number(st.mode));
    if (m !== undefined) attempt(() => chmodSync(loc.path, m));
    attempt(() => {
      const n = size();
      if (n !== undefined) truncateSync(loc.path, n);
    });
    const t = times(st);
    if (t) attempt(() => utimesSync(loc.path, t[0], t[1]));
    if (failure) throw failure;
    return { op: HgfsOp.SETATTR_V3 };
  }

  private createDir(req: CreateDirRequest): void {
    const path = req.fileName.path;
    if (path.length === 1) {
      // Only shares live under the root: a share's name exists, any other name is refused.
      if (this.shares.get(path[0]!)) throw errnoError('EEXIST', `${path[0]} is a share`);
      throw errnoError('EACCES', `cannot create ${path[0]} beside the shares`);
    }
    const loc = this.real(path);
    if (loc.share.readOnly) {
      if (exists(loc.path)) throw errnoError('EEXIST', `${nameOf(path)} exists`);
      throw errnoError('EACCES', `share ${loc.share.name} is read-only`);
    }
    const perm = (valid: bigint, bits: number, fallback: number) =>
      (req.mask & valid) !== 0n ? bits : fallback;
    const owner = perm(HgfsCreateDirValid.OWNER_PERMS, req.ownerPerms, 7);
    const mode =
      (perm(HgfsCreateDirValid.SPECIAL_PERMS, req.specialPerms, 0) << 9) |
      (owner << 6) |
      (perm(HgfsCreateDirValid.GROUP_PERMS, req.groupPerms, owner) << 3) |
      perm(HgfsCreateDirValid.OTHER_PERMS, req.otherPerms, owner);
    mkdirSync(loc.path, mode);
  }

  private remove(s: Session, req: DeleteRequest): HgfsReply {
    const dir = req.op === HgfsOp.DELETE_DIR_V3;
    let target: string;
    let share: Share;
    if (byHandle(req.fileName, (req.hints & HgfsDeleteHint.USE_FILE_DESC) !== 0n)) {
      const f = this.file(s, req.fileName.fid);
      // A handle opened on the share itself names the host's directory: never the guest's to remove.
      if (dir && f.path === f.share.root)
        throw errnoError('EACCES', `share ${f.share.name} cannot be removed by the guest`);
      target = f.path;
      share = f.share;
    } else {
      const loc = this.real(req.fileName.path);
      if (dir && loc.shareRoot)
        throw errnoError('EACCES', `share ${loc.share.name} cannot be removed by the guest`);
      target = loc.path;
      share = loc.share;
    }
    if (share.readOnly) {
      if (exists(target)) throw errnoError('EACCES', `share ${share.name} is read-only`);
      throw errnoError('ENOENT', `${target} does not exist`);
    }
    if (dir) rmdirSync(target);
    else unlinkSync(target);
    return { op: req.op };
  }

  private rename(s: Session, req: RenameRequest): HgfsReply {
    const from = this.renameEnd(s, req.oldName, (req.hints & HgfsRenameHint.USE_SRCFILE_DESC) !== 0n);
    if (from.share.readOnly) {
      if (exists(from.path)) throw errnoError('EACCES', `share ${from.share.name} is read-only`);
      throw errnoError('ENOENT', `${from.path} does not exist`);
    }
    const to = this.renameEnd(s, req.newName, (req.hints & HgfsRenameHint.USE_TARGETFILE_DESC) !== 0n);
    if (to.share.readOnly) throw errnoError('EACCES', `share ${to.share.name} is read-only`);
    // Data moved between two accounted shares would escape their accounts: refused as a move across
    // devices, which a client answers by copying (through WRITE_V3, so counted).
    if (from.share !== to.share && (from.share.writes || to.share.writes))
      throw errnoError('EXDEV', `${from.path} and ${to.path} are in different grants`);
    if ((req.hints & HgfsRenameHint.NO_REPLACE_EXISTING) !== 0n && exists(to.path))
      throw errnoError('EEXIST', `${to.path} exists`);
    renameSync(from.path, to.path);
    for (const other of this.sessions.values()) other.files.renamed(from.path, to.path);
    return { op: HgfsOp.RENAME_V3 };
  }

  private renameEnd(s: Session, name: FileNameV3, hint: boolean): { path: string; share: Share } {
    if (byHandle(name, hint)) {
      const f = this.file(s, name.fid);
      if (f.path === f.share.root)
        throw errnoError('EACCES', `share ${f.share.name} cannot be renamed by the guest`);
      return { path: f.path, share: f.share };
    }
    const loc = this.real(name.path);
    // A share's own directory is the host's: the guest may neither move it nor replace it.
    if (loc.shareRoot) throw errnoError('EACCES', `share ${loc.share.name} cannot be renamed by the guest`);
    return loc;
  }

  private volume(path: readonly string[]): { freeBytes: bigint; totalBytes: bigint } {
    const of = (dir: string) => {
      const st = statfsSync(dir, { bigint: true });
      return { freeBytes: st.bavail * st.bsize, totalBytes: st.blocks * st.bsize };
    };
    const loc = this.resolve(path, true);
    if (loc.kind === 'path') {
      const v = of(loc.path);
      // A share with a write limit has no more room than the limit leaves.
      const left = loc.share.writes?.remaining ?? Number.POSITIVE_INFINITY;
      if (Number.isFinite(left) && BigInt(left) < v.freeBytes) v.freeBytes = BigInt(left);
      return v;
    }
    // The root: the share with the least free space (a host's default, HGFS_CONFIG_VOL_INFO_MIN).
    let best: { freeBytes: bigint; totalBytes: bigint } | undefined;
    let failures = 0;
    for (const sh of this.shares.list()) {
      try {
        const v = of(sh.root);
        if (!best || v.freeBytes < best.freeBytes) best = v;
      } catch {
        failures++;
      }
    }
    if (!best && failures > 0) throw errnoError('EIO', 'no share could be measured');
    return best ?? { freeBytes: 0n, totalBytes: 0n };
  }

  private symlink(name: FileNameV3, target: string): void {
    if ((name.flags & HgfsFileNameFlags.USE_FILE_DESC) !== 0)
      throw new HgfsFailure(HgfsStatus.INVALID_PARAMETER, 'CREATE_SYMLINK_V3 by handle');
    const loc = this.real(name.path);
    if (loc.share.readOnly) {
      if (exists(loc.path)) throw errnoError('EEXIST', `${nameOf(name.path)} exists`);
      throw errnoError('EACCES', `share ${loc.share.name} is read-only`);
    }
    // The target is stored exactly as given; the host never follows it.
    symlinkSync(target, loc.path);
  }

  // ---- answers and the log ----------------------------------------------------------------------

  private fail(
    address: ReplyAddress,
    status: number,
    requestBytes: number,
    path: string | undefined,
    detail: string,
    op = opName(address.op),
  ): Uint8Array {
    const reply = encodeErrorReply(address, status);
    this.record(op, statusName(status), requestBytes, reply.length, path, detail);
    return reply;
  }

  private record(
    op: string,
    status: string,
    requestBytes: number,
    replyBytes: number,
    path?: string,
    detail?: string,
  ): void {
    // A number no operation has (opName's `op N`) is counted as one, so a peer cannot grow the table.
    const counted = op.startsWith('op ') ? '(unknown op)' : op;
    this.opCounts[counted] = (this.opCounts[counted] ?? 0) + 1;
    this.statusCounts[status] = (this.statusCounts[status] ?? 0) + 1;
    const r: HgfsOpRecord = {
      seq: ++this.seq,
      t: Date.now() - this.started,
      op,
      status,
      requestBytes,
      replyBytes,
    };
    if (path !== undefined) r.path = path;
    if (detail !== undefined) r.detail = detail;
    if (this.touched.bytes !== undefined && status === 'SUCCESS') r.bytes = this.touched.bytes;
    if (this.touched.realPath !== undefined) r.realPath = this.touched.realPath;
    if (this.touched.refusal !== undefined) r.refusal = this.touched.refusal;
    if (this.touched.malformed) r.malformed = true;
    this.records.push(r);
    if (this.records.length > this.logLimit + (this.logLimit >> 3))
      this.records = this.records.slice(-this.logLimit);
    if (this.observe) {
      try {
        this.observe(r);
      } catch {
        this.observerFailures++;
      }
    }
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {}
}
