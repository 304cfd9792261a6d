/**
 * Write gathering for an open host file (docs/protocol/tree.md §17). A 9P write is at most the
 * iounit (256 KiB); one HGFS WRITE may carry a whole packet (about 510 KiB). A client that keeps
 * several writes in flight (Plan 9's fcp, a pipelining 9P library) sends contiguous pieces while
 * the host is busy with an earlier one: those are joined and sent as one WRITE when it is done.
 * Nothing is answered before the host has the bytes, so a write's error is still that write's: a
 * client writing one piece at a time sees no difference at all.
 */

/** Writes `data` at `offset` on the host; resolves with the bytes it took. */
export type SendWrite = (offset: number, data: Uint8Array) => Promise<number>;

interface Waiter {
  length: number;
  resolve: (n: number) => void;
  reject: (e: unknown) => void;
}

interface Batch {
  offset: number;
  parts: Uint8Array[];
  size: number;
  waiters: Waiter[];
}

export class WriteGather {
  private busy = false;
  private queue: Batch[] = [];

  constructor(
    private readonly send: SendWrite,
    /** The most one HGFS WRITE carries. */
    private readonly max: () => number,
  ) {}

  /** Writes `data` at `offset`; resolves, once the host has it, with how much it took. */
  write(offset: number, data: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      const waiter = { length: data.length, resolve, reject };
      const last = this.queue[this.queue.length - 1];
      if (this.busy && last && last.offset + last.size === offset && last.size + data.length <= this.max()) {
        last.parts.push(data);
        last.size += data.length;
        last.waiters.push(waiter);
      } else this.queue.push({ offset, parts: [data], size: data.length, waiters: [waiter] });
      if (!this.busy) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.busy = true;
    // A backdoor call does not return to the event loop (the native port is synchronous), so the
    // writes already on their way are read only if we let the loop run before each send.
    for (let b = await this.nextBatch(); b; b = await this.nextBatch()) {
      const data = b.parts.length === 1 ? b.parts[0]! : Buffer.concat(b.parts, b.size);
      try {
        let left = await this.send(b.offset, data);
        // A short write is shared out in order: the first pieces are whole, the rest get what is left.
        for (const w of b.waiters) {
          const n = Math.max(0, Math.min(w.length, left));
          left -= n;
          w.resolve(n);
        }
      } catch (e) {
        for (const w of b.waiters) w.reject(e);
      }
    }
    this.busy = false;
  }

  private async nextBatch(): Promise<Batch | undefined> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return this.queue.shift();
  }
}
