/**
 * Read-ahead for an open host file (docs/protocol/tree.md §17). A 9P client reads at most its
 * iounit at a time (128 KiB with the tree's msize), while one HGFS READ may bring a whole packet
 * (about 510 KiB with large packets): so a read the window does not cover asks the host for a whole
 * packet's worth, and the next window is asked for while the reader still consumes this one, on
 * another channel. Sequential reads then cost a quarter of the HGFS requests, and overlap with them.
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

interface Window {
  offset: number;
  /** The bytes at `offset`: a whole chunk, or fewer when the file ends inside it. */
  data: Uint8Array;
  /** The node's data generation when it was read. */
  generation: number;
  expires: number;
  /** Bytes reserved from the budget (released when the window goes). */
  reserved: number;
}

export interface ReadAheadOptions {
  budget: ReadAheadBudget;
  /** How long read data may be served (the attribute cache's lifetime); 0 disables read-ahead. */
  lifetimeMs: number;
  now?: () => number;
}

/** One open file's windows: the one being read, and the next one (asked for ahead). */
export class ReadAhead {
  private current: Window | undefined;
  private next: { offset: number; window: Promise<Window | undefined> } | undefined;
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
    while (got < count) {
      const at = offset + got;
      const w = await this.windowAt(at, chunk, generation, fetch, signal);
      if (!w) {
        // Over the budget: this read goes to the host as asked.
        parts.push(await fetch(at, count - got, signal));
        got += parts[parts.length - 1]!.length;
        break;
      }
      const piece = w.data.subarray(at - w.offset, Math.min(w.data.length, at - w.offset + count - got));
      parts.push(piece);
      got += piece.length;
      if (w.data.length < chunk && at + piece.length >= w.offset + w.data.length) break; // end of file
      if (piece.length === 0) break;
    }
    if (this.current && this.current.data.length === chunk) this.askNext(chunk, generation, fetch);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  /** Drops every window (a write, a truncation, the clunk). */
  drop(): void {
    this.release(this.current);
    this.current = undefined;
    const next = this.next;
    this.next = undefined;
    void next?.window.then((w) => this.release(w));
  }

  /** The fid is clunked: nothing more is read ahead. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private fresh(w: Window | undefined, generation: number): w is Window {
    return w !== undefined && w.generation === generation && w.expires > this.now();
  }

  private covers(w: Window, at: number): boolean {
    return at >= w.offset && at < w.offset + w.data.length;
  }

  /** The window holding `at`: the current one, the next one, or a new one read now. */
  private async windowAt(
    at: number,
    chunk: number,
    generation: number,
    fetch: FetchRange,
    signal?: AbortSignal,
  ): Promise<Window | undefined> {
    const cur = this.current;
    if (this.fresh(cur, generation)) {
      if (this.covers(cur, at)) return cur;
      // Just past a window the file ended in: the end of the file, without asking again.
      if (cur.data.length < chunk && at === cur.offset + cur.data.length) return cur;
    }
    if (this.next && this.next.offset === at) {
      const pending = this.next;
      this.next = undefined;
      const w = await pending.window;
      if (this.fresh(w, generation) && this.covers(w, at)) return this.replace(w);
      this.release(w);
    }
    if (!this.opts.budget.take(chunk)) return undefined;
    let data: Uint8Array;
    try {
      data = await fetch(at, chunk, signal);
    } catch (e) {
      this.opts.budget.give(chunk);
      throw e;
    }
    return this.replace({
      offset: at,
      data,
      generation,
      expires: this.now() + this.opts.lifetimeMs,
      reserved: chunk,
    });
  }

  private replace(w: Window): Window {
    if (this.current !== w) this.release(this.current);
    // Clunked while the window was being read: it serves this read, and is kept by nobody.
    if (this.closed) {
      this.release(w);
      this.current = undefined;
      return w;
    }
    this.current = w;
    return w;
  }

  /** Asks for the window after the current one, unless it is asked for already or over the budget. */
  private askNext(chunk: number, generation: number, fetch: FetchRange): void {
    const cur = this.current!;
    const offset = cur.offset + cur.data.length;
    if (this.next?.offset === offset || this.closed) return;
    if (this.next) {
      // A window asked for elsewhere (the reader jumped): let it go.
      const stale = this.next;
      this.next = undefined;
      void stale.window.then((w) => this.release(w));
    }
    if (!this.opts.budget.take(chunk)) return;
    const window = fetch(offset, chunk).then(
      (data): Window => ({
        offset,
        data,
        generation,
        expires: this.now() + this.opts.lifetimeMs,
        reserved: chunk,
      }),
      // A failed read-ahead is nobody's error: the reader asks again, and gets it.
      () => {
        this.opts.budget.give(chunk);
        return undefined;
      },
    );
    this.next = { offset, window };
  }

  private release(w: Window | undefined): void {
    if (w && w.reserved > 0) {
      this.opts.budget.give(w.reserved);
      w.reserved = 0;
    }
  }
}
