/**
 * One 9P conversation on a byte stream: framing, version negotiation, the tag table (many
 * outstanding requests, none blocking the reader), Tflush, the fid table, and cleanup when the
 * stream ends. The meaning of each request is in operations.ts.
 */
import type { Readable, Writable } from 'node:stream';
import { decode, encode } from './codec.js';
import { type Dialect, ERRMAX, IOHDRSZ, NOTAG } from './constants.js';
import { type DecodeError, Errno, NinepError, toNinepError } from './errors.js';
import type { ExclusiveUse, Fid } from './fid.js';
import { Framer, FrameTooLarge } from './framer.js';
import type { Message, MessageName, RMessage, TMessage } from './messages.js';
import { type Handler, handlers } from './operations.js';
import { type ResolvedServerOptions, VERSION_FRAME_MAX } from './options.js';
import { type ReplyBody, Request } from './request.js';
import type { Session } from './session.js';

export interface ConnectionStats {
  requests: number;
  flushes: number;
}

export class Connection implements Session {
  dialect: Dialect = '9P2000';
  msize: number;
  versioned = false;
  readonly fids = new Map<number, Fid>();
  reservedFids = 0;
  readonly pending = new Map<number, Request>();
  readonly stats: ConnectionStats = { requests: 0, flushes: 0 };
  closed = false;
  private readonly framer: Framer;
  private corked = false;
  private readonly uncork = () => {
    this.corked = false;
    this.output.uncork();
  };
  private readonly onClosed: Array<() => void> = [];
  /** Set while part of a frame is held: ends the connection if the rest does not come in time. */
  private stallTimer: NodeJS.Timeout | undefined;
  /**
   * Fids a pending walk or attach is creating, and when that request ends: a request naming such
   * a fid (a walk, open and read sent back to back) waits for it instead of failing "fid unknown".
   */
  private readonly births = new Map<number, Promise<void>>();

  constructor(
    readonly options: ResolvedServerOptions,
    private readonly input: Readable,
    private readonly output: Writable,
    /** The serving server's exclusive-use table (DMEXCL opens are per server). */
    readonly exclusive: ExclusiveUse,
    /** Fids held across the serving server (a stream served alone: just this one's). */
    private readonly countServerFids?: () => number,
  ) {
    this.msize = options.msize;
    // Until a Tversion is agreed only a small frame is taken (options.ts, VERSION_FRAME_MAX).
    this.framer = new Framer(Math.min(options.msize, VERSION_FRAME_MAX), (f) => this.onFrame(f));
    input.on('data', (chunk: Buffer) => {
      try {
        this.framer.push(chunk);
      } catch (err) {
        // A bad size field: the stream cannot be resynchronised, so the connection ends.
        this.fail(err instanceof FrameTooLarge ? err : new Error(String(err)));
        return;
      }
      this.watchStall();
    });
    input.on('end', () => this.close());
    input.on('close', () => this.close());
    input.on('error', () => this.close());
    output.on('error', () => this.close());
    output.on('drain', () => {
      if (!this.closed) input.resume();
    });
  }

  serverFids(): number {
    return this.countServerFids ? this.countServerFids() : this.fids.size + this.reservedFids;
  }

  /** Runs `fn` once the connection is gone and cleaned up. */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.onClosed.push(fn);
  }

  /** Ends the conversation: aborts every pending request (no replies) and clunks every fid. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.stallTimer);
    this.reset();
    this.input.destroy();
    if ((this.output as unknown) !== this.input)
      (this.output as Writable & { destroy?: () => void }).destroy?.();
    for (const fn of this.onClosed.splice(0)) fn();
  }

  /**
   * A frame that has begun must finish within frameTimeoutMs of its first bytes (a trickle does
   * not restart the clock), or the connection is dropped with what it holds. Between frames there
   * is no limit: an idle mount stays.
   */
  private watchStall(): void {
    if (!this.framer.partial) {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
    } else if (!this.stallTimer && !this.closed) {
      this.stallTimer = setTimeout(
        () => this.fail(new Error(`a frame stalled for ${this.options.frameTimeoutMs} ms`)),
        this.options.frameTimeoutMs,
      );
      this.stallTimer.unref();
    }
  }

  private fail(err: Error): void {
    this.options.log?.(`ninep: closing connection: ${err.message}`);
    this.close();
  }

  /** Forgets all requests and fids (Tversion and close). Clunk handlers run; their errors are ignored. */
  private reset(): void {
    for (const req of this.pending.values()) {
      req.dead = true;
      req.abort();
      req.ended();
    }
    this.pending.clear();
    this.births.clear();
    const fids = [...this.fids.values()];
    this.fids.clear();
    for (const f of fids) void f.release().catch(() => {});
  }

  // -------------------------------------------------------------------------------------
  // Input

  private onFrame(frame: Buffer): void {
    if (this.closed) return;
    let msg: Message;
    try {
      msg = decode(frame, this.dialect);
    } catch (err) {
      const e = err as DecodeError;
      this.options.log?.(`ninep: malformed frame: ${e.message}`);
      // The header was intact: answer the tag with an error, unless that would clobber a pending one.
      if (e.tag !== undefined && !this.pending.has(e.tag) && this.versioned) {
        const unknown = e.field.startsWith('type ');
        this.send(
          e.tag,
          this.errorBody(
            new NinepError(
              unknown ? Errno.EOPNOTSUPP : Errno.EPROTO,
              unknown ? 'unknown message' : `bad message: ${e.message}`,
            ),
          ),
        );
      } else if (!this.versioned) this.fail(e);
      return;
    }
    if (msg.type[0] !== 'T') {
      this.send(msg.tag, this.errorBody(new NinepError(Errno.EPROTO, `${msg.type} is not a request`)));
      return;
    }
    this.options.trace?.('<-', msg);
    const t = msg as TMessage;
    this.options.observer?.request?.(t.type);
    if (t.type === 'Tversion') {
      this.version(t);
      return;
    }
    if (!this.versioned) {
      this.send(t.tag, this.errorBody(new NinepError(Errno.EPROTO, 'version not negotiated')));
      return;
    }
    if (t.type === 'Tflush') {
      this.flush(t.tag, t.oldtag);
      return;
    }
    if (this.pending.has(t.tag) || t.tag === NOTAG) {
      this.send(t.tag, this.errorBody(new NinepError(Errno.EPROTO, 'duplicate tag')));
      return;
    }
    if (this.pending.size >= this.options.maxOutstanding) {
      this.send(t.tag, this.errorBody(new NinepError(Errno.EAGAIN, 'too many outstanding requests')));
      return;
    }
    this.start(t);
  }

  private start(msg: TMessage): void {
    const req = new Request(msg.tag, msg);
    this.pending.set(msg.tag, req);
    this.stats.requests++;
    const fid = (msg as { fid?: number }).fid;
    const born = fid === undefined ? undefined : this.births.get(fid);
    const newfid = msg.type === 'Tattach' ? msg.fid : (msg as { newfid?: number }).newfid;
    if (newfid !== undefined && newfid !== fid) {
      const birth = new Promise<void>((resolve) => req.onEnd(resolve));
      this.births.set(newfid, birth);
      void birth.then(() => {
        if (this.births.get(newfid) === birth) this.births.delete(newfid);
      });
    }
    if (msg.type === 'Tclunk' || msg.type === 'Tremove') this.abortOnFid(msg.fid, msg.tag);
    if (born) void born.then(() => this.run(req, msg));
    else this.run(req, msg);
  }

  /**
   * A clunked (or removed) fid's requests still waiting (a blocked read) are ended and answered
   * with an error, so each is answered once and its tag freed (the clunk itself goes on).
   */
  private abortOnFid(fid: number, clunkTag: number): void {
    for (const r of this.pending.values())
      if (r.tag !== clunkTag && (r.msg as { fid?: number }).fid === fid)
        r.abort(new NinepError(Errno.EBADF, 'the fid was clunked while this request waited'));
  }

  private run(req: Request, msg: TMessage): void {
    if (req.dead) return;
    if (req.aborted) {
      // Flushed (or its fid clunked) before it could start.
      this.finish(req, undefined, new NinepError(Errno.EINTR));
      return;
    }
    const handler = handlers[msg.type as MessageName] as Handler | undefined;
    let result: ReplyBody | Promise<ReplyBody>;
    try {
      if (!handler) throw new NinepError(Errno.EOPNOTSUPP, 'unknown message');
      result = handler(this, msg, req);
    } catch (err) {
      this.finish(req, undefined, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (r) => this.finish(req, r, undefined),
        (e) => this.finish(req, undefined, e),
      );
    } else this.finish(req, result, undefined);
  }

  private finish(req: Request, reply: ReplyBody | undefined, err: unknown): void {
    req.ended();
    if (req.dead) return;
    this.pending.delete(req.tag);
    // A request interrupted by Tflush gets no reply of its own: only the Rflush(es).
    if (!(req.flushed && err !== undefined)) {
      req.commit?.();
      this.send(req.tag, reply ?? this.errorBody(toNinepError(err)));
    }
    for (const t of req.flushes) this.send(t, { type: 'Rflush' });
  }

  /**
   * Tflush: the old request is aborted; it is answered first if it still completes (then the
   * Rflush), or not at all. A handler that ignores its AbortSignal gets `flushGraceMs` before the
   * Rflush goes out regardless, and its late reply is dropped.
   */
  private flush(tag: number, oldtag: number): void {
    this.stats.flushes++;
    const old = this.pending.get(oldtag);
    if (!old || oldtag === tag) {
      this.send(tag, { type: 'Rflush' });
      return;
    }
    old.flushes.push(tag);
    if (old.flushes.length > 1) return;
    old.flushed = true;
    old.abort();
    const timer = setTimeout(() => {
      if (old.dead || this.pending.get(oldtag) !== old) return;
      old.dead = true;
      this.pending.delete(oldtag);
      for (const t of old.flushes) this.send(t, { type: 'Rflush' });
    }, this.options.flushGraceMs);
    timer.unref();
  }

  private version(m: Extract<TMessage, { type: 'Tversion' }>): void {
    this.reset();
    const { dialects } = this.options;
    let version: string;
    if (!m.version.startsWith('9P2000')) version = 'unknown';
    else if (m.version === '9P2000.L' && dialects.includes('9P2000.L')) version = '9P2000.L';
    else if (m.version === '9P2000.u' && dialects.includes('9P2000.u')) version = '9P2000.u';
    else if (dialects.includes('9P2000')) version = '9P2000';
    else version = 'unknown';
    // A refused Tversion leaves no session: every fid is gone, so nothing but a new Tversion is taken.
    this.versioned = false;
    this.framer.maxSize = Math.min(this.options.msize, VERSION_FRAME_MAX);
    if (m.msize < 4096) {
      this.send(m.tag, { type: 'Rerror', ename: `msize ${m.msize} is below the 4096 minimum` });
      return;
    }
    this.msize = Math.min(m.msize, this.options.msize);
    this.versioned = version !== 'unknown';
    if (this.versioned) this.framer.maxSize = this.msize;
    if (this.versioned) this.dialect = version as Dialect;
    this.send(m.tag, { type: 'Rversion', msize: this.msize, version });
  }

  // -------------------------------------------------------------------------------------
  // Output

  /** The error reply for this dialect: Rerror (9P2000), Rerror+errno (.u), Rlerror (.L). */
  errorBody(e: NinepError): ReplyBody {
    if (this.dialect === '9P2000.L')
      return { type: 'Rlerror', ecode: e.errno > 0 && e.errno < 4096 ? e.errno : Errno.EIO };
    let ename = e.message || 'error';
    if (Buffer.byteLength(ename) > ERRMAX - 1)
      ename = Buffer.from(ename)
        .subarray(0, ERRMAX - 1)
        .toString('utf8')
        .replace(/\uFFFD$/, '');
    return this.dialect === '9P2000.u'
      ? { type: 'Rerror', ename, errno: e.errno }
      : { type: 'Rerror', ename };
  }

  /** The most data one Rread/Twrite/Rreaddir may carry. */
  get iounit(): number {
    return this.msize - IOHDRSZ;
  }

  send(tag: number, body: ReplyBody): void {
    if (this.closed) return;
    const msg = body as RMessage;
    let frame: Buffer;
    try {
      frame = encode(msg, this.dialect, tag);
      // Linux drops the connection on any reply >= msize.
      if (frame.length >= this.msize && msg.type !== 'Rversion') {
        frame = encode(this.errorBody(new NinepError(Errno.EMSGSIZE)) as RMessage, this.dialect, tag);
      }
    } catch (err) {
      frame = encode(this.errorBody(toNinepError(err)) as RMessage, this.dialect, tag);
    }
    if (this.options.trace) this.options.trace('->', { ...msg, tag });
    // Replies produced in the same turn (one input chunk and the promise jobs it started) go out in
    // one write. nextTick, not setImmediate: the tick queue runs once the current microtasks drain,
    // so a lone reply leaves without waiting for the loop's check phase.
    if (!this.corked) {
      this.corked = true;
      this.output.cork();
      process.nextTick(this.uncork);
    }
    if (!this.output.write(frame)) this.input.pause();
  }
}
