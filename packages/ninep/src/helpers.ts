/**
 * Ready-made files for synthetic trees (lib9p's readstr / event queues / Cmdbuf):
 *  - StatusFile: text regenerated at each open, sliced by offset, EOF past its end;
 *  - StreamFile: the base of event files: one record per read, the offset ignored, and eofmode;
 *  - EventFile: one record per read, blocking until one is posted, interrupted by Tflush;
 *  - CtlFile: a write is parsed into commands by a command table (cmdtab.ts); a command's error is
 *    the write's error.
 */
import { type Command, CommandTable } from './cmdtab.js';
import { canRead, type FidContext, File, type MaybePromise } from './tree.js';
import { abortableWait } from './wait.js';

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

/**
 * Plan 9's eofmode switch for a tree's event files: when on, a read at an offset past 0 is EOF, so
 * a reader that reads to EOF (`cat`, `read(1)`) stops after one record instead of blocking. One
 * object is shared by every event file of a tree, and its ctl turns it on and off.
 */
export class EofMode {
  on = false;
}

/**
 * The base of event files: each read is one record of a stream, whatever its offset, and may
 * block (`signal` aborts it on Tflush). It owns eofmode: with `eofmode.on`, a read at offset > 0
 * is EOF without asking the subclass.
 */
export abstract class StreamFile extends File {
  constructor(
    name: string,
    mode = 0o444,
    uid?: string,
    /** Shared with the tree's other event files; a private one (off) by default. */
    readonly eofmode: EofMode = new EofMode(),
  ) {
    super(name, mode, uid);
  }

  override read(
    fid: FidContext,
    offset: number,
    count: number,
    signal: AbortSignal,
  ): MaybePromise<Uint8Array> {
    if (this.eofmode.on && offset > 0) return new Uint8Array(0);
    return this.nextRecord(fid, count, signal);
  }

  /** The fid's next record (at most `count` bytes), blocking while there is none. */
  protected abstract nextRecord(
    fid: FidContext,
    count: number,
    signal: AbortSignal,
  ): MaybePromise<Uint8Array>;
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
export class EventFile extends StreamFile {
  private readonly queues = new Set<EventQueue>();
  /** Records kept per reader before the oldest are dropped (bounded memory for slow readers). */
  maxQueued = 1024;
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
  protected override async nextRecord(
    fid: FidContext,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const q = fid.aux as EventQueue;
    while (q.records.length === 0) {
      await abortableWait(signal, (wake) => {
        q.wake = wake;
        return () => {
          q.wake = undefined;
        };
      });
    }
    return q.records.shift()!.subarray(0, count);
  }
}

/** A CtlFile's command: its handler gets the arguments and the writing fid. */
export type CtlCommand = Command<FidContext>;

/**
 * A control file: each line written is `command args…`, looked up in a command table; an unknown
 * command, a wrong argument count or a handler's exception fails the write (EINVAL
 * `unknown control message: "line"`, `bad # args to command: "line"`, or the handler's error),
 * which is how Plan 9 ctl files report errors. Reading returns `describe()`, regenerated at open.
 */
export class CtlFile extends File {
  readonly commands: CommandTable<FidContext>;

  constructor(
    name: string,
    commands: readonly CtlCommand[] | CommandTable<FidContext>,
    private readonly describe: () => string = () => '',
    mode = 0o644,
    uid?: string,
  ) {
    super(name, mode, uid);
    this.commands = commands instanceof CommandTable ? commands : new CommandTable(commands);
  }
  override open(fid: FidContext): void {
    if (canRead(fid.mode)) fid.aux = Buffer.from(this.describe());
  }
  override read(fid: FidContext, offset: number, count: number): Uint8Array {
    return readBuf((fid.aux as Uint8Array | undefined) ?? new Uint8Array(0), offset, count);
  }
  override async write(fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    await this.commands.runLines(Buffer.from(data).toString('utf8'), fid);
    return data.length;
  }
}
