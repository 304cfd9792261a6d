/**
 * Ready-made files for synthetic trees (lib9p's readstr / event queues / Cmdbuf):
 *  - StatusFile: text regenerated at each open, sliced by offset, EOF past its end;
 *  - StreamFile: the base of event files: one record per read, the offset ignored, and eofmode;
 *  - EventFile: one record per read, blocking until one is posted, interrupted by Tflush;
 *  - CtlFile: a write is parsed into commands by a command table (cmdtab.ts); a command's error is
 *    the write's error.
 */
import { type Command, CommandTable, ctlTooLong } from './cmdtab.js';
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

/** A reader's place in an EventFile's log: the sequence number of the next record it reads. */
interface EventCursor {
  next: number;
}

/**
 * A stream of records. Each fid opened for reading gets the records posted after its open; each
 * read returns exactly one record (truncated to the read's count) and ignores the offset, blocking
 * while none is there. A Tflush (or the connection closing) aborts the blocked read; several reads
 * may wait on one fid, and each is answered with its own record.
 *
 * The records are kept once, in a log of the last `maxQueued` shared by every reader, each reader
 * holding only its place: memory does not grow with the number of open fids, and posting costs
 * nothing per idle reader. A reader that falls more than `maxQueued` records behind loses the
 * oldest and reads `overrun(n)` in their place (by default the line `dropped n`).
 * Linux note (docs/protocol/9p.md §10): a plain read(2) loops until its buffer is full, so readers
 * should use O_NONBLOCK or a buffer of one record.
 */
export class EventFile extends StreamFile {
  /** Records kept for readers that are behind (bounded memory for slow readers). */
  maxQueued = 256;
  /** What a reader that fell behind reads in place of the `lost` records it missed. */
  overrun: (lost: number) => Uint8Array = (lost) => Buffer.from(`dropped ${lost}\n`);
  private readonly log: Uint8Array[] = [];
  /** The sequence number of log[0]. */
  private first = 0;
  /** Blocked reads, woken by the next post. */
  private readonly waiting = new Set<() => void>();

  /** Delivers a record to every current reader. */
  post(record: string | Uint8Array): void {
    this.log.push(typeof record === 'string' ? Buffer.from(record) : record);
    if (this.log.length > this.maxQueued) {
      this.log.shift();
      this.first++;
    }
    const woken = [...this.waiting];
    this.waiting.clear();
    for (const wake of woken) wake();
  }
  /** Readers currently blocked waiting for a record. */
  get blockedReaders(): number {
    return this.waiting.size;
  }
  override open(fid: FidContext): void {
    if (!canRead(fid.mode)) return;
    fid.aux = { next: this.first + this.log.length } satisfies EventCursor;
  }
  protected override async nextRecord(
    fid: FidContext,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const cursor = fid.aux as EventCursor;
    while (cursor.next >= this.first + this.log.length) {
      await abortableWait(signal, (wake) => {
        this.waiting.add(wake);
        return () => this.waiting.delete(wake);
      });
    }
    if (cursor.next < this.first) {
      const lost = this.first - cursor.next;
      cursor.next = this.first;
      return this.overrun(lost).subarray(0, count);
    }
    return this.log[cursor.next++ - this.first]!.subarray(0, count);
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
  /** The longest write taken, in bytes: the command table's bound (default CTL_MAX, 8192). */
  get maxWrite(): number {
    return this.commands.maxBytes;
  }
  set maxWrite(n: number) {
    this.commands.maxBytes = n;
  }

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
    // Control messages are short; a long write is refused before it is parsed (parsing a megabyte
    // would hold up every other client).
    if (data.length > this.maxWrite) throw ctlTooLong(data.length, this.maxWrite);
    await this.commands.runLines(Buffer.from(data).toString('utf8'), fid);
    return data.length;
  }
}
