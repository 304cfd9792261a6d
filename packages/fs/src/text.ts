/**
 * Text files whose content comes from the host. Plan 9's fixed-string semantics (cons(3)): the text
 * is produced at a read at offset 0 (a fresh snapshot for this fid), later reads slice that
 * snapshot, and a read past its end is EOF, so `cat` terminates and `dd` sees stable records.
 * A host failure is the read's error, never invented data.
 */
import { abortableWait, type FidContext, File, type MaybePromise, readBuf, StreamFile } from 'ninep';
import { hostError } from './errors.js';

/** A file of text from the host, with the fixed-string read rules above; subclasses say what the text is. */
export abstract class SnapshotFile extends File {
  /** The file's text now (called by a read at offset 0). */
  protected abstract snapshot(fid: FidContext): MaybePromise<string | Uint8Array>;

  override async read(fid: FidContext, offset: number, count: number): Promise<Uint8Array> {
    if (!fid.aux) fid.aux = {};
    const state = fid.aux as { text?: Uint8Array };
    if (offset === 0 || state.text === undefined) {
      try {
        const v = await this.snapshot(fid);
        state.text = typeof v === 'string' ? Buffer.from(v) : v;
      } catch (e) {
        throw hostError(e);
      }
    }
    return readBuf(state.text, offset, count);
  }
}

/** A read-only status file whose text `produce` gives (a dirtab entry with its read handler). */
export class TextFile extends SnapshotFile {
  constructor(
    name: string,
    private readonly produce: (fid: FidContext) => MaybePromise<string | Uint8Array>,
    mode = 0o444,
    uid?: string,
  ) {
    super(name, mode, uid);
  }

  protected override snapshot(fid: FidContext): MaybePromise<string | Uint8Array> {
    return this.produce(fid);
  }
}

/** Something that changes over time: readers wait for a newer version than the one they saw. */
export class Watched<T> {
  private seq = 0;
  private waiters = new Set<() => void>();

  constructor(private current: T) {}

  get value(): T {
    return this.current;
  }
  get version(): number {
    return this.seq;
  }
  /** Readers waiting now (pollers run only while there are some). */
  get waiting(): number {
    return this.waiters.size;
  }

  set(v: T): void {
    this.current = v;
    this.seq++;
    for (const w of [...this.waiters]) w();
  }

  /** Resolves once the version is past `seen`; rejects when `signal` aborts (Tflush). */
  async next(seen: number, signal: AbortSignal, onWait?: () => void): Promise<T> {
    while (this.seq <= seen) {
      await abortableWait(signal, (wake) => {
        this.waiters.add(wake);
        onWait?.();
        return () => this.waiters.delete(wake);
      });
    }
    return this.current;
  }

  /**
   * An event file's read of this value: a fid's first read (`cursor.seen` < 0) gets the current
   * value, every later one waits for the next change; the cursor remembers what the fid saw.
   */
  async readNext(cursor: { seen: number }, signal: AbortSignal, onWait?: () => void): Promise<T> {
    const v = cursor.seen < 0 ? this.current : await this.next(cursor.seen, signal, onWait);
    cursor.seen = this.seq;
    return v;
  }
}

/**
 * An event file over a Watched value (docs/protocol/tree.md §1): a fid's first read gets the value
 * at once, each later read waits for the next change; a record is one read. Subclasses say how a
 * value reads (`record`) and may start a poller while a reader waits (`onWait`).
 */
export abstract class WatchedFile<T> extends StreamFile {
  protected abstract readonly watched: Watched<T>;
  /** The record a value reads as. */
  protected abstract record(value: T, fid: FidContext): string;
  /** Called while a reader waits (pollers run only then). */
  protected onWait(): void {}

  override open(fid: FidContext): void {
    fid.aux = { seen: -1 };
  }

  protected override async nextRecord(
    fid: FidContext,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const v = await this.watched.readNext(fid.aux as { seen: number }, signal, () => this.onWait());
    return Buffer.from(this.record(v, fid)).subarray(0, count);
  }
}
