/**
 * `snarf` with rio's semantics (docs/protocol/tree.md §4): a read at offset 0 fetches the host
 * clipboard into a per-fid snapshot; writes go to a per-fid buffer (every Twrite appends, the offset
 * is ignored; a zero-length write empties it) that is set on the host at clunk. `snarfwait` blocks
 * until the host clipboard changes, one line per change: `%11d %11d \n` = change count, length.
 */
import {
  canWrite,
  type EofMode,
  Errno,
  type FidContext,
  File,
  type OpenMode,
  p9err,
  readBuf,
  StreamFile,
} from 'ninep';
import { hostError, tooLarge } from './errors.js';
import { num11 } from './format.js';
import type { Clipboard } from './services.js';
import type { Counters } from './stats.js';
import { Watched } from './text.js';

interface SnarfFid {
  snapshot?: Buffer;
  parts?: Buffer[];
  size: number;
  /** Set when a write failed: the copy is abandoned, and later writes say so. */
  failed?: boolean;
}

export class SnarfFile extends File {
  enabled = true;

  constructor(
    private readonly clip: Clipboard,
    private readonly counters: Counters,
    /** Called after the host clipboard was set from the guest. */
    private readonly onSet: (data: Buffer) => void,
  ) {
    super('snarf', 0o666);
  }

  override open(fid: FidContext, mode: OpenMode): void {
    if (!this.enabled) throw p9err(Errno.EACCES, 'clipboard sharing is off (ctl: snarf on)');
    fid.aux = { size: 0, ...(canWrite(mode) ? { parts: [] } : {}) } satisfies SnarfFid;
  }

  override async read(fid: FidContext, offset: number, count: number): Promise<Uint8Array> {
    const a = fid.aux as SnarfFid;
    if (offset === 0 || !a.snapshot) {
      try {
        a.snapshot = await this.clip.get();
        this.counters.add('snarfReads');
      } catch (e) {
        throw hostError(e);
      }
    }
    return readBuf(a.snapshot, offset, count);
  }

  override write(fid: FidContext, _offset: number, data: Uint8Array): number {
    const a = fid.aux as SnarfFid;
    if (!a.parts)
      throw p9err(
        Errno.EBADF,
        a.failed ? 'an earlier write failed; reopen to copy again' : 'not open for writing',
      );
    if (data.length === 0) {
      a.parts = [];
      a.size = 0;
      return 0;
    }
    if (a.size + data.length > this.clip.maxBytes) {
      // A failed write abandons this fid's copy: nothing is set on the host at clunk.
      a.parts = undefined;
      a.failed = true;
      throw tooLarge(`snarf buffer too long (the host takes ${this.clip.maxBytes} bytes)`);
    }
    a.parts.push(Buffer.from(data));
    a.size += data.length;
    return data.length;
  }

  override async clunk(fid: FidContext): Promise<void> {
    const a = fid.aux as SnarfFid | undefined;
    if (!a?.parts) return;
    const data = Buffer.concat(a.parts);
    a.parts = undefined;
    try {
      await this.clip.set(data);
      this.counters.add('snarfWrites');
      this.onSet(data);
    } catch (e) {
      throw hostError(e);
    }
  }
}

/** Watches the host clipboard (polling: the legacy protocol has no notification) while someone waits. */
export class ClipboardWatch {
  readonly state = new Watched<{ length: number; hash: string }>({ length: -1, hash: '' });
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly clip: Clipboard,
    private readonly intervalMs: number,
    private readonly onChange: () => void,
  ) {}

  /** Starts polling if not running; it stops by itself when nobody waits. */
  ensurePolling(): void {
    if (this.timer) return;
    const tick = async () => {
      try {
        const data = await this.clip.get();
        const hash = (await import('node:crypto')).createHash('sha1').update(data).digest('hex');
        const cur = this.state.value;
        if (cur.hash !== hash) {
          const first = cur.length === -1;
          this.state.set({ length: data.length, hash });
          if (!first) this.onChange();
        }
      } catch {
        // The host may refuse for a while (copy/paste off); keep watching.
      }
      this.timer = this.state.waiting > 0 ? setTimeout(tick, this.intervalMs) : undefined;
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export class SnarfWaitFile extends StreamFile {
  constructor(
    private readonly watch: ClipboardWatch,
    eofmode: EofMode,
  ) {
    super('snarfwait', 0o444, undefined, eofmode);
  }

  override open(fid: FidContext): void {
    // The first poll establishes "what this fid saw"; the read then waits for the next change.
    fid.aux = { seen: -1 };
    this.watch.ensurePolling();
  }

  protected override async nextRecord(
    fid: FidContext,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const a = fid.aux as { seen: number };
    const st = this.watch.state;
    if (a.seen < 0) {
      // Wait for the baseline (the first poll), then for a change after it.
      if (st.value.length === -1) await st.next(st.version, signal, () => this.watch.ensurePolling());
      a.seen = st.version;
    }
    const v = await st.next(a.seen, signal, () => this.watch.ensurePolling());
    a.seen = st.version;
    return Buffer.from(`${num11(st.version - 1)}${num11(v.length)}\n`).subarray(0, count);
  }
}
