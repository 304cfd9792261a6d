/**
 * Ready-made files for synthetic trees (lib9p's readstr / event queues / Cmdbuf):
 *  - StatusFile: text regenerated at each open, sliced by offset, EOF past its end;
 *  - EventFile: one record per read, blocking until one is posted, interrupted by Tflush;
 *  - CtlFile: a write is parsed into commands; a command's error is the write's error.
 */
import { Errno, p9err } from './errors.js';
import { canRead, type FidContext, File, type MaybePromise } from './tree.js';

/**
 * The part of `data` that a read of `count` bytes at `offset` returns: lib9p's readbuf. Past the
 * end it is empty, which is EOF.
 */
export function readBuf(data: Uint8Array, offset: number, count: number): Uint8Array {
  return data.subarray(Math.min(offset, data.length), Math.min(offset + count, data.length));
}

/** Text generated at open (a snapshot per fid), read with ordinary offset rules, EOF past its end. */
export class StatusFile extends File {
  constructor(
    name: string,
    private readonly generate: () => MaybePromise<string | Uint8Array>,
    mode = 0o444,
    uid?: string,
  ) {
    super(name, mode, uid);
  }
  override async open(fid: FidContext): Promise<void> {
    if (canRead(fid.mode)) {
      const v = await this.generate();
      fid.aux = typeof v === 'string' ? Buffer.from(v) : v;
    }
  }
  override read(fid: FidContext, offset: number, count: number): Uint8Array {
    return readBuf(fid.aux as Uint8Array, offset, count);
  }
}

interface EventQueue {
  records: Uint8Array[];
  wake?: () => void;
}

/**
 * A stream of records. Each fid opened for reading gets the records posted after its open; each
 * read returns exactly one record (truncated to the read's count) and ignores the offset, blocking
 * while none is queued. A Tflush (or the connection closing) aborts the blocked read.
 * Linux note (docs/protocol/9p.md §10): a plain read(2) loops until its buffer is full, so readers
 * should use O_NONBLOCK or a buffer of one record.
 */
export class EventFile extends File {
  private readonly queues = new Set<EventQueue>();
  /** Records kept per reader before the oldest are dropped (bounded memory for slow readers). */
  maxQueued = 1024;

  constructor(name: string, mode = 0o444, uid?: string) {
    super(name, mode, uid);
  }
  /** Delivers a record to every current reader. */
  post(record: string | Uint8Array): void {
    const r = typeof record === 'string' ? Buffer.from(record) : record;
    for (const q of this.queues) {
      q.records.push(r);
      if (q.records.length > this.maxQueued) q.records.shift();
      q.wake?.();
    }
  }
  /** Readers currently blocked waiting for a record. */
  get blockedReaders(): number {
    let n = 0;
    for (const q of this.queues) if (q.wake) n++;
    return n;
  }
  override open(fid: FidContext): void {
    if (!canRead(fid.mode)) return;
    const q: EventQueue = { records: [] };
    this.queues.add(q);
    fid.aux = q;
  }
  override clunk(fid: FidContext): void {
    const q = fid.aux as EventQueue | undefined;
    if (q) this.queues.delete(q);
  }
  override async read(
    fid: FidContext,
    _offset: number,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const q = fid.aux as EventQueue;
    while (q.records.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          q.wake = undefined;
          reject(signal.reason ?? p9err(Errno.EINTR));
        };
        if (signal.aborted) return onAbort();
        q.wake = () => {
          q.wake = undefined;
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    return q.records.shift()!.subarray(0, count);
  }
}

/** Splits a command line into fields: whitespace-separated, single quotes group ('' is a quote). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    let field = '';
    while (i < line.length && !/\s/.test(line[i]!)) {
      if (line[i] === "'") {
        i++;
        for (;;) {
          if (i >= line.length) throw p9err(Errno.EINVAL, 'unbalanced quote in control message');
          if (line[i] === "'") {
            if (line[i + 1] === "'") {
              field += "'";
              i += 2;
              continue;
            }
            i++;
            break;
          }
          field += line[i++];
        }
      } else field += line[i++];
    }
    out.push(field);
  }
  return out;
}

export type CtlCommand = (args: string[], fid: FidContext) => MaybePromise<void>;

/**
 * A control file: each line written is `command args…`; an unknown command or a handler's
 * exception fails the write (EINVAL "unknown control message" / the handler's error), which is how
 * Plan 9 ctl files report errors. Reading returns `describe()`, regenerated at open.
 */
export class CtlFile extends File {
  constructor(
    name: string,
    private readonly commands: Record<string, CtlCommand>,
    private readonly describe: () => string = () => '',
    mode = 0o644,
    uid?: string,
  ) {
    super(name, mode, uid);
  }
  override open(fid: FidContext): void {
    if (canRead(fid.mode)) fid.aux = Buffer.from(this.describe());
  }
  override read(fid: FidContext, offset: number, count: number): Uint8Array {
    return readBuf((fid.aux as Uint8Array | undefined) ?? new Uint8Array(0), offset, count);
  }
  override async write(fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    for (const line of Buffer.from(data).toString('utf8').split('\n')) {
      const fields = tokenize(line);
      if (fields.length === 0) continue;
      const [name, ...args] = fields as [string, ...string[]];
      const cmd = Object.hasOwn(this.commands, name) ? this.commands[name] : undefined;
      if (!cmd) throw p9err(Errno.EINVAL, `unknown control message "${name}"`);
      await cmd(args, fid);
    }
    return data.length;
  }
}
