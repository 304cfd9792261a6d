/**
 * Read-ahead for an open host file (docs/protocol/tree.md §17). A 9P client reads at most its
 * iounit at a time (256 KiB with the tree's msize), while one HGFS READ may bring a whole packet
 * (about 510 KiB with large packets): so a read the window does not cover asks the host for a whole
 * packet's worth, and the next window is asked for while the reader still consumes this one, on
 * another channel. Sequential reads then cost half the HGFS requests, and overlap with them.
 *
 * Read data is kept no longer than attributes are (the attribute cache's lifetime; 0 turns
 * read-ahead off), is dropped at any write or truncation through the tree (the node's data
 * generation changes), and all windows of a tree share a budget, so many open files cannot hold
 * much memory: past it, reads go to the host as asked.
 */

/** Bytes all the windows of one tree may hold at once. */
export const READ_AHEAD_BUDGET = 32 * 1024 * 1024;

/** Memory the windows of one tree share. */
export class ReadAheadBudget {
  used = 0;
  constructor(readonly limit = READ_AHEAD_BUDGET) {}
  take(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }
  give(n: number): void {
    this.used -= n;
  }
}

/** Reads `length` bytes at `offset` from the host (shorter only at the end of the file). */
export type FetchRange = (offset: number, length: number, signal?: AbortSignal) => Promise<Uint8Array>;

/** Windows one open file keeps at most: the one being read, the one asked ahead, one spare. */
const MAX_WINDOWS = 3;

interface Window {
  offset: number;
  /** The node's data generation when it was asked for. */
  generation: number;
  expires: number;
  /** Bytes reserved from the budget (released when the window goes, once it has settled). */
  reserved: number;
  /** The bytes at `offset` once read: a whole chunk, or fewer when the file ends inside it. */
  data: Uint8Array | undefined;
  /** Settles with the bytes, or with the reading's error. */
  ready: Promise<{ data: Uint8Array } | { error: unknown }>;
}

export interface ReadAheadOptions {
  budget: ReadAheadBudget;
  /** How long read data may be served (the attribute cache's lifetime); 0 disables read-ahead. */
  lifetimeMs: number;
  now?: () => number;
}

/**
 * One open file's windows. Reads that arrive together (a client with several in flight) wait for
 * the window that will hold their bytes instead of each asking for its own.
 */
export class ReadAhead {
  private windows: Window[] = [];
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly opts: ReadAheadOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * `count` bytes at `offset` (fewer only at the end of the file), from the windows when they hold
   * them. `chunk` is what one HGFS READ brings; `generation` the node's data generation now.
   */
  async read(
    offset: number,
    count: number,
    chunk: number,
    generation: number,
    fetch: FetchRange,
    signal?: AbortSignal,
  ): Promise<Uint8Array> {
    if (this.opts.lifetimeMs <= 0 || count >= chunk || this.closed) return fetch(offset, count, signal);
    const parts: Uint8Array[] = [];
    let got = 0;
    let last: Window | undefined;
    while (got < count) {
      const at = offset + got;
      let w = this.find(at, chunk, generation);
      let data: Uint8Array | undefined;
      if (w) {
        const r = await w.ready;
        if ('data' in r) data = r.data;
        else {
          // Someone's read-ahead failed: read it ourselves, and fail with it if it fails again.
          this.remove(w);
          w = undefined;
        }
      }
      if (!w) {
        w = this.start(at, chunk, generation, fetch, signal);
        if (!w) {
          // Over the budget: this read goes to the host as asked.
          parts.push(await fetch(at, count - got, signal));
          got += parts[parts.length - 1]!.length;
          break;
        }
        const r = await w.ready;
        if ('error' in r) {
          this.remove(w);
          throw r.error;
        }
        data = r.data;
      }
      last = w;
      const piece = data!.subarray(at - w.offset, Math.min(data!.length, at - w.offset + count - got));
      parts.push(piece);
      got += piece.length;
      if (piece.length === 0 || (data!.length < chunk && at + piece.length >= w.offset + data!.length)) break;
    }
    if (last?.data && last.data.length === chunk) this.ahead(last.offset + chunk, chunk, generation, fetch);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  /** Drops every window (a write, a truncation, the clunk). */
  drop(): void {
    for (const w of this.windows.splice(0)) this.release(w);
  }

  /** The fid is clunked: nothing more is read ahead. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  /** The window that holds (or will hold) the byte at `at`, fresh. */
  private find(at: number, chunk: number, generation: number): Window | undefined {
    const now = this.now();
    for (const w of this.windows) {
      if (w.generation !== generation || w.expires <= now) continue;
      if (at < w.offset || at >= w.offset + chunk) continue;
      // A window the file ended in holds nothing past its end but that end (an empty read).
      if (w.data && at > w.offset + w.data.length) continue;
      if (w.data && at === w.offset + w.data.length && w.data.length === chunk) continue;
      return w;
    }
    return undefined;
  }

  /** Starts reading a window at `at`, unless over the budget. */
  private start(
    at: number,
    chunk: number,
    generation: number,
    fetch: FetchRange,
    signal?: AbortSignal,
  ): Window | undefined {
    if (this.closed || !this.opts.budget.take(chunk)) return undefined;
    while (this.windows.length >= MAX_WINDOWS) this.release(this.windows.shift()!);
    const w: Window = {
      offset: at,
      generation,
      expires: this.now() + this.opts.lifetimeMs,
      reserved: chunk,
      data: undefined,
      ready: fetch(at, chunk, signal).then(
        (data) => {
          w.data = data;
          return { data };
        },
        (error: unknown) => ({ error }),
      ),
    };
    this.windows.push(w);
    return w;
  }

  /** Asks for the window at `at` ahead of the reader, unless it is there already. */
  private ahead(at: number, chunk: number, generation: number, fetch: FetchRange): void {
    if (this.find(at, chunk, generation)) return;
    const w = this.start(at, chunk, generation, fetch);
    // A failed read-ahead is nobody's error: the reader asks again, and gets it.
    void w?.ready.then((r) => {
      if ('error' in r) this.remove(w);
    });
  }

  private remove(w: Window): void {
    const i = this.windows.indexOf(w);
    if (i >= 0) this.windows.splice(i, 1);
    this.release(w);
  }

  /** Gives a window's bytes back to the budget once its read has settled. */
  private release(w: Window): void {
    if (w.reserved === 0) return;
    const n = w.reserved;
    w.reserved = 0;
    void w.ready.then(() => this.opts.budget.give(n));
  }
}
