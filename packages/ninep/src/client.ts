/**
 * A 9P client for tests, benchmarks and the CLI: version negotiation (the best dialect the server
 * offers), attach, walk, open/create, read/write chunked by msize, stat, readdir, remove, rename,
 * clunk, and flush through an AbortSignal. Paths are relative to the attach root.
 */
import { createConnection, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import { decode, decodeDirents, decodeStats, encode } from './codec.js';
import {
  DIALECTS,
  type Dialect,
  DMDIR,
  DMSYMLINK,
  GETATTR_BASIC,
  IOHDRSZ,
  L_O_CREAT,
  MAXWELEM,
  NOFID,
  NONUNAME,
  NOTAG,
  ORDWR,
  OREAD,
  OTRUNC,
  OWRITE,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
  SETATTR_SIZE,
} from './constants.js';
import { formatDial, parseDial } from './dial.js';
import { Errno, errnoForText, errnoText, RemoteError } from './errors.js';
import { Framer } from './framer.js';
import {
  LAYOUTS,
  type Message,
  type MessageName,
  type Qid,
  type RMessage,
  type Stat,
  type TMessage,
} from './messages.js';

const RLERROR_TYPE = LAYOUTS.get('Rlerror')!.id;

export interface ClientOptions {
  /**
   * Dialect asked for (default 9P2000.L); the server may answer with an older one, and one that
   * answers `unknown` is asked for 9P2000.L, then 9P2000.
   */
  version?: Dialect;
  /** msize proposed (default 1 MiB). */
  msize?: number;
  uname?: string;
  aname?: string;
  /** Numeric uid sent in .u/.L attaches (default: this process's uid). */
  nUname?: number;
}

/** File attributes in one shape whatever the dialect. `mode` is a Plan 9 mode (DMDIR for directories). */
export interface FileInfo {
  name: string;
  qid: Qid;
  mode: number;
  length: number;
  mtime: number;
  uid: string;
  gid: string;
  nUid?: number;
  nGid?: number;
  /** 9P2000.u: the stat extension (a symlink's target). */
  extension?: string;
}

/** Distributive Omit, so each message keeps its own fields. */
type Body<M> = M extends unknown ? Omit<M, 'tag'> : never;
export type RequestBody = Body<TMessage>;
type ReplyFor<T extends TMessage['type']> = Extract<
  RMessage,
  { type: `R${T extends `T${infer R}` ? R : never}` }
>;

interface Waiter {
  request: string;
  resolve: (m: RMessage) => void;
  reject: (e: Error) => void;
}

/** Nothing could be reached at an address; the message says why in words, the code stays for scripts. */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  readonly code: string | undefined;
  constructor(
    readonly address: string,
    cause: NodeJS.ErrnoException,
  ) {
    const why: Record<string, string> = {
      ENOENT: 'no such socket',
      ECONNREFUSED: 'nothing is listening there',
      EACCES: 'permission denied',
      ENOTSOCK: 'not a socket',
      ENOTFOUND: 'no such host',
      ETIMEDOUT: 'timed out',
    };
    super(
      `cannot connect to ${address}: ${why[cause.code ?? ''] ?? cause.message}${cause.code ? ` (${cause.code})` : ''}`,
      {
        cause,
      },
    );
    this.code = cause.code;
  }
}

export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
}

export type OpenAccess = 'r' | 'w' | 'rw';

export class NinepClient {
  dialect: Dialect = '9P2000';
  /** A Tversion is outstanding (its refusal may come in another dialect's error message). */
  private negotiating = false;
  msize = 8192;
  /** The attach fid: every path starts here. */
  rootFid = NOFID;
  private readonly waiting = new Map<number, Waiter>();
  private nextTag = 0;
  private readonly freeFids: number[] = [];
  private nextFid = 0;
  private readonly framer: Framer;
  private closedError: Error | undefined;

  private constructor(
    private readonly stream: Duplex,
    private readonly opts: ClientOptions,
  ) {
    this.framer = new Framer(1 << 30, (f) => this.onFrame(f));
    stream.on('data', (d: Buffer) => {
      try {
        this.framer.push(d);
      } catch (e) {
        this.fail(e as Error);
      }
    });
    stream.on('error', (e) => this.fail(e));
    stream.on('close', () => this.fail(new ClientClosedError('connection closed')));
  }

  /** Connects to a dial string (`unix!PATH`, `tcp!HOST!PORT`) or an open stream, negotiates and attaches. */
  static async connect(addr: string | Duplex, opts: ClientOptions = {}): Promise<NinepClient> {
    let stream: Duplex;
    if (typeof addr === 'string') {
      const d = parseDial(addr);
      const sock: Socket = d.net === 'unix' ? createConnection(d.path) : createConnection(d.port, d.host);
      await new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', (e: NodeJS.ErrnoException) => reject(new ConnectError(formatDial(d), e)));
      });
      sock.setNoDelay(true);
      stream = sock;
    } else stream = addr;
    const c = new NinepClient(stream, opts);
    try {
      await c.negotiate();
      await c.attach();
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  private async negotiate(): Promise<void> {
    const want = this.opts.version ?? '9P2000.L';
    // A server that does not speak the dialect asked for says `unknown`: try .L, then plain 9P2000.
    const tries = [...new Set<Dialect>([want, want === '9P2000' ? want : '9P2000.L', '9P2000'])];
    for (const version of tries) {
      let r: Message<'Rversion'>;
      this.negotiating = true;
      try {
        r = (await this.rpc(
          { type: 'Tversion', msize: this.opts.msize ?? 1 << 20, version },
          undefined,
          NOTAG,
        )) as Message<'Rversion'>;
      } catch (e) {
        if (e instanceof RemoteError) continue;
        throw e;
      } finally {
        this.negotiating = false;
      }
      if (r.version === 'unknown') continue;
      if (!DIALECTS.includes(r.version as Dialect)) throw new Error(`server answered version "${r.version}"`);
      this.dialect = r.version as Dialect;
      this.msize = r.msize;
      return;
    }
    throw new Error('server speaks none of 9P2000, 9P2000.u, 9P2000.L');
  }

  private async attach(): Promise<void> {
    const fid = this.allocFid();
    await this.rpc({
      type: 'Tattach',
      fid,
      afid: NOFID,
      uname: this.opts.uname ?? userInfo().username,
      aname: this.opts.aname ?? '',
      nUname: this.opts.nUname ?? process.getuid?.() ?? NONUNAME,
    });
    this.rootFid = fid;
  }

  /** Payload limit of one Tread/Twrite. */
  get iounit(): number {
    return this.msize - IOHDRSZ;
  }

  // -------------------------------------------------------------------------------------
  // Transport

  private onFrame(frame: Buffer): void {
    let m: Message;
    try {
      // A .L-only server (diod) refuses a Tversion for another dialect with an Rlerror (type 7),
      // which no other dialect has: read it as .L so negotiation can go on to 9P2000.L.
      m = decode(frame, this.negotiating && frame[4] === RLERROR_TYPE ? '9P2000.L' : this.dialect);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    const w = this.waiting.get(m.tag);
    if (!w) return; // a reply for a request already given up after a flush
    this.waiting.delete(m.tag);
    if (m.type === 'Rlerror') w.reject(new RemoteError(w.request, m.ecode, errnoText(m.ecode)));
    else if (m.type === 'Rerror')
      w.reject(new RemoteError(w.request, m.errno || errnoForText(m.ename), m.ename));
    else w.resolve(m as RMessage);
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
    this.stream.destroy();
  }

  private allocTag(): number {
    for (let i = 0; i < 0xffff; i++) {
      const t = this.nextTag;
      this.nextTag = (this.nextTag + 1) % 0xffff;
      if (!this.waiting.has(t)) return t;
    }
    throw new Error('no free tag');
  }

  allocFid(): number {
    return this.freeFids.pop() ?? this.nextFid++;
  }

  /**
   * Sends one request and resolves with its reply (Rerror/Rlerror reject with RemoteError).
   * Aborting `signal` sends Tflush: the promise rejects once Rflush arrives, unless the original
   * reply came first (then it resolves: the operation happened).
   */
  rpc<T extends RequestBody>(body: T, signal?: AbortSignal, tag?: number): Promise<ReplyFor<T['type']>> {
    if (this.closedError) return Promise.reject(this.closedError);
    const t = tag ?? this.allocTag();
    const frame = encode(body as Omit<Message, 'tag'>, this.dialect, t);
    return new Promise<RMessage>((resolve, reject) => {
      const waiter: Waiter = { request: body.type, resolve, reject };
      this.waiting.set(t, waiter);
      if (signal) {
        const onAbort = () => {
          if (this.waiting.get(t) !== waiter) return;
          // The tag stays reserved until Rflush: only then may it be reused.
          this.rpc({ type: 'Tflush', oldtag: t }).then(() => {
            if (this.waiting.get(t) === waiter) this.waiting.delete(t);
            reject(
              signal.reason instanceof Error ? signal.reason : new DOMException('flushed', 'AbortError'),
            );
          }, reject);
        };
        if (signal.aborted) queueMicrotask(onAbort);
        else signal.addEventListener('abort', onAbort, { once: true });
      }
      this.stream.write(frame);
    }) as Promise<ReplyFor<T['type']>>;
  }

  close(): void {
    this.fail(new ClientClosedError('client closed'));
  }

  // -------------------------------------------------------------------------------------
  // Fids and paths

  /** Walks `path` (relative to `from`, default the root) to a new fid. A partial walk is ENOENT. */
  async walk(path: string | string[], from = this.rootFid): Promise<number> {
    const names = typeof path === 'string' ? splitPath(path) : path;
    const fid = this.allocFid();
    let cur = from;
    try {
      let i = 0;
      do {
        const chunk = names.slice(i, i + MAXWELEM);
        const r = await this.rpc({ type: 'Twalk', fid: cur, newfid: fid, wnames: chunk });
        if (r.qids.length !== chunk.length) {
          throw new RemoteError(
            'Twalk',
            Errno.ENOENT,
            `${names.slice(0, i + r.qids.length + 1).join('/')}: file does not exist`,
          );
        }
        cur = fid;
        i += chunk.length;
      } while (i < names.length);
    } catch (e) {
      if (cur === fid) await this.clunk(fid).catch(() => {});
      else this.freeFids.push(fid);
      throw e;
    }
    return fid;
  }

  async clunk(fid: number): Promise<void> {
    try {
      await this.rpc({ type: 'Tclunk', fid });
    } finally {
      this.freeFids.push(fid); // the fid is gone even when Rclunk is an error
    }
  }

  /** Opens a walked fid. `truncate` empties the file (Tsetattr size 0 in .L, as Linux does). */
  async open(fid: number, access: OpenAccess = 'r', truncate = false): Promise<{ qid: Qid; iounit: number }> {
    const mode = access === 'r' ? OREAD : access === 'w' ? OWRITE : ORDWR;
    if (this.dialect === '9P2000.L') {
      const r = await this.rpc({ type: 'Tlopen', fid, flags: mode });
      if (truncate) await this.truncateFid(fid, 0);
      return { qid: r.qid, iounit: r.iounit };
    }
    const r = await this.rpc({ type: 'Topen', fid, mode: mode | (truncate ? OTRUNC : 0) });
    return { qid: r.qid, iounit: r.iounit };
  }

  /** Creates `name` in the directory `dirfid`, which then refers to the new file, open. */
  async createIn(
    dirfid: number,
    name: string,
    perm: number,
    access: OpenAccess = 'w',
  ): Promise<{ qid: Qid; iounit: number }> {
    const mode = access === 'r' ? OREAD : access === 'w' ? OWRITE : ORDWR;
    if (this.dialect === '9P2000.L') {
      if (perm & DMDIR) throw new Error('createIn: use mkdir for directories in 9P2000.L');
      const r = await this.rpc({
        type: 'Tlcreate',
        fid: dirfid,
        name,
        flags: mode | L_O_CREAT,
        mode: perm & 0o777,
        gid: NONUNAME,
      });
      return { qid: r.qid, iounit: r.iounit };
    }
    const r = await this.rpc({ type: 'Tcreate', fid: dirfid, name, perm: perm >>> 0, mode });
    return { qid: r.qid, iounit: r.iounit };
  }

  async read(fid: number, offset: number | bigint, count: number, signal?: AbortSignal): Promise<Uint8Array> {
    const r = await this.rpc(
      { type: 'Tread', fid, offset: BigInt(offset), count: Math.min(count, this.iounit) },
      signal,
    );
    return r.data;
  }

  async write(fid: number, offset: number | bigint, data: Uint8Array, signal?: AbortSignal): Promise<number> {
    let done = 0;
    do {
      const piece = data.subarray(done, done + this.iounit);
      const r = await this.rpc(
        { type: 'Twrite', fid, offset: BigInt(offset) + BigInt(done), data: piece },
        signal,
      );
      if (r.count === 0 && piece.length > 0) throw new RemoteError('Twrite', Errno.EIO, 'short write');
      done += r.count;
    } while (done < data.length);
    return done;
  }

  /** Reads an open fid from `offset` to EOF. */
  async readToEnd(fid: number, offset = 0): Promise<Buffer> {
    const parts: Uint8Array[] = [];
    for (let off = offset; ; ) {
      const d = await this.read(fid, off, this.iounit);
      if (d.length === 0) break;
      parts.push(d);
      off += d.length;
    }
    return Buffer.concat(parts);
  }

  async statFid(fid: number): Promise<FileInfo> {
    if (this.dialect === '9P2000.L') {
      const a = await this.rpc({ type: 'Tgetattr', fid, requestMask: GETATTR_BASIC });
      const t = a.mode & S_IFMT;
      return {
        name: '',
        qid: a.qid,
        mode: ((t === S_IFDIR ? DMDIR : t === S_IFLNK ? DMSYMLINK : 0) | (a.mode & 0o777)) >>> 0,
        length: Number(a.size),
        mtime: Number(a.mtimeSec),
        uid: String(a.uid),
        gid: String(a.gid),
        nUid: a.uid,
        nGid: a.gid,
      };
    }
    const r = await this.rpc({ type: 'Tstat', fid });
    return infoFromStat(r.stat);
  }

  async truncateFid(fid: number, length: number): Promise<void> {
    if (this.dialect === '9P2000.L') {
      await this.rpc({
        type: 'Tsetattr',
        fid,
        valid: SETATTR_SIZE,
        mode: 0,
        uid: 0,
        gid: 0,
        size: BigInt(length),
        atimeSec: 0n,
        atimeNsec: 0n,
        mtimeSec: 0n,
        mtimeNsec: 0n,
      });
    } else await this.rpc({ type: 'Twstat', fid, stat: { ...dontTouch(), length: BigInt(length) } });
  }

  // -------------------------------------------------------------------------------------
  // Path operations (each walks from the root and clunks what it walked)

  private async withFid<T>(path: string, fn: (fid: number) => Promise<T>): Promise<T> {
    const fid = await this.walk(path);
    try {
      return await fn(fid);
    } finally {
      await this.clunk(fid).catch(() => {});
    }
  }

  stat(path: string): Promise<FileInfo> {
    return this.withFid(path, async (fid) => ({ ...(await this.statFid(fid)), name: baseName(path) }));
  }

  readFile(path: string): Promise<Buffer> {
    return this.withFid(path, async (fid) => {
      await this.open(fid, 'r');
      return this.readToEnd(fid);
    });
  }

  /**
   * Writes a whole file, creating it (mode `perm`) when absent, truncating it otherwise. The
   * close's error is the call's when the writes succeeded: a file that commits on close (Plan 9's
   * snarf, our clipboard files) says there whether the value was taken.
   */
  async writeFile(path: string, data: Uint8Array, perm = 0o644): Promise<void> {
    let fid: number;
    try {
      fid = await this.walk(path);
      try {
        await this.open(fid, 'w', true);
      } catch (e) {
        await this.clunk(fid).catch(() => {});
        throw e;
      }
    } catch (e) {
      if (!(e instanceof RemoteError) || e.errno !== Errno.ENOENT) throw e;
      fid = await this.walk(dirName(path));
      try {
        await this.createIn(fid, baseName(path), perm, 'w');
      } catch (err) {
        await this.clunk(fid).catch(() => {});
        throw err;
      }
    }
    try {
      if (data.length > 0) await this.write(fid, 0, data);
      else if (this.dialect !== '9P2000.L') await this.rpc({ type: 'Twrite', fid, offset: 0n, data }); // as plan9port does
    } catch (e) {
      await this.clunk(fid).catch(() => {});
      throw e;
    }
    await this.clunk(fid);
  }

  /** Creates a file (or, with DMDIR in perm, a directory); fails if it exists. */
  async create(path: string, perm = 0o644): Promise<void> {
    if (perm & DMDIR && this.dialect === '9P2000.L') return this.mkdir(path, perm & 0o777);
    const fid = await this.walk(dirName(path));
    try {
      await this.createIn(fid, baseName(path), perm, 'r');
    } finally {
      await this.clunk(fid).catch(() => {});
    }
  }

  async mkdir(path: string, perm = 0o755): Promise<void> {
    if (this.dialect !== '9P2000.L') return this.create(path, (DMDIR | perm) >>> 0);
    await this.withFid(dirName(path), async (dfid) => {
      await this.rpc({ type: 'Tmkdir', dfid, name: baseName(path), mode: perm & 0o777, gid: NONUNAME });
    });
  }

  async remove(path: string): Promise<void> {
    const fid = await this.walk(path);
    try {
      await this.rpc({ type: 'Tremove', fid });
    } finally {
      this.freeFids.push(fid); // Tremove clunks even when it fails
    }
  }

  /**
   * Renames within the tree. .L: Trenameat, falling back to Trename when the server answers
   * EOPNOTSUPP (diod does), as Linux does; 9P2000/.u: Twstat name, same directory only.
   */
  async rename(from: string, to: string): Promise<void> {
    if (this.dialect === '9P2000.L') {
      await this.withFid(dirName(to), async (b) => {
        try {
          await this.withFid(dirName(from), async (a) => {
            await this.rpc({
              type: 'Trenameat',
              olddirfid: a,
              oldname: baseName(from),
              newdirfid: b,
              newname: baseName(to),
            });
          });
        } catch (e) {
          if (!(e instanceof RemoteError) || e.errno !== Errno.EOPNOTSUPP) throw e;
          await this.withFid(from, async (fid) => {
            await this.rpc({ type: 'Trename', fid, dfid: b, name: baseName(to) });
          });
        }
      });
      return;
    }
    if (dirName(from) !== dirName(to)) throw new Error('rename: 9P2000 can only rename within a directory');
    await this.withFid(from, async (fid) => {
      await this.rpc({ type: 'Twstat', fid, stat: { ...dontTouch(), name: baseName(to) } });
    });
  }

  /**
   * Makes a symlink at `path` pointing to `target`: Tsymlink in .L, Tcreate with DMSYMLINK and the
   * target in `extension` in .u (as Linux does). 9P2000 has no symlinks.
   */
  async symlink(path: string, target: string): Promise<Qid> {
    if (this.dialect === '9P2000') throw new Error('symlink: 9P2000 has no symlinks (use 9P2000.u or .L)');
    return this.withFid(dirName(path), async (dfid) => {
      if (this.dialect === '9P2000.L') {
        const r = await this.rpc({
          type: 'Tsymlink',
          fid: dfid,
          name: baseName(path),
          symtgt: target,
          gid: NONUNAME,
        });
        return r.qid;
      }
      const fid = await this.walk([], dfid);
      try {
        const r = await this.rpc({
          type: 'Tcreate',
          fid,
          name: baseName(path),
          perm: (DMSYMLINK | 0o777) >>> 0,
          mode: OREAD,
          extension: target,
        });
        return r.qid;
      } finally {
        await this.clunk(fid).catch(() => {});
      }
    });
  }

  /** A symlink's target: Treadlink in .L, the stat extension in .u; 9P2000 reads it as a file. */
  readlink(path: string): Promise<string> {
    if (this.dialect === '9P2000') return this.readFile(path).then((b) => b.toString());
    return this.withFid(path, async (fid) => {
      if (this.dialect === '9P2000.L') return (await this.rpc({ type: 'Treadlink', fid })).target;
      return (await this.statFid(fid)).extension ?? '';
    });
  }

  /** Lists a directory: Treaddir + Tgetattr per entry in .L, stat entries otherwise. */
  readdir(path: string): Promise<FileInfo[]> {
    return this.withFid(path, async (fid) => {
      await this.open(fid, 'r');
      if (this.dialect !== '9P2000.L') {
        const data = await this.readToEnd(fid);
        return decodeStats(data, this.dialect).map(infoFromStat);
      }
      const out: FileInfo[] = [];
      for (let cookie = 0n; ; ) {
        const r = await this.rpc({ type: 'Treaddir', fid, offset: cookie, count: this.iounit });
        const ents = decodeDirents(r.data);
        if (ents.length === 0) break;
        for (const e of ents) {
          if (e.name === '.' || e.name === '..') continue;
          const child = await this.walk([e.name], fid);
          try {
            out.push({ ...(await this.statFid(child)), name: e.name });
          } finally {
            await this.clunk(child).catch(() => {});
          }
        }
        cookie = ents[ents.length - 1]!.offset;
      }
      return out;
    });
  }
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}
function baseName(path: string): string {
  const p = splitPath(path);
  return p[p.length - 1] ?? '/';
}
function dirName(path: string): string {
  return splitPath(path).slice(0, -1).join('/');
}

/** A stat with every field "don't touch" (§3.4), to be overridden field by field. */
export function dontTouch(): Stat {
  return {
    type: 0xffff,
    dev: 0xffffffff,
    qid: { type: 0xff, version: 0xffffffff, path: 0xffffffffffffffffn },
    mode: 0xffffffff,
    atime: 0xffffffff,
    mtime: 0xffffffff,
    length: 0xffffffffffffffffn,
    name: '',
    uid: '',
    gid: '',
    muid: '',
    extension: '',
    nUid: 0xffffffff,
    nGid: 0xffffffff,
    nMuid: 0xffffffff,
  };
}

function infoFromStat(s: Stat): FileInfo {
  const info: FileInfo = {
    name: s.name,
    qid: s.qid,
    mode: s.mode,
    length: Number(s.length),
    mtime: s.mtime,
    uid: s.uid,
    gid: s.gid,
  };
  if (s.nUid !== undefined) info.nUid = s.nUid;
  if (s.nGid !== undefined) info.nGid = s.nGid;
  if (s.extension !== undefined) info.extension = s.extension;
  return info;
}

export type { MessageName };
