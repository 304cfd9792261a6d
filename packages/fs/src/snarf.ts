/**
 * `snarf` with rio's semantics (docs/protocol/tree.md §4), and `clip/`, one file per format with
 * the same rules (§4a): a read at offset 0 takes what a paste in the guest gets now into a per-fid
 * snapshot; writes go to a per-fid buffer (every Twrite appends, the offset is ignored; a
 * zero-length write empties it) that is committed at clunk. A write past the protocol's limit
 * fails naming the limit, and that fid's copy is abandoned. `snarfwait` blocks until the host
 * clipboard changes, one line per change: `%11d %11d \n` = change count, length.
 */
import { createHash } from 'node:crypto';
import {
  canWrite,
  Dir,
  type EofMode,
  Errno,
  type FidContext,
  File,
  type OpenMode,
  p9err,
  readBuf,
  StreamFile,
} from 'ninep';
import {
  CLIP_FORMATS,
  type Clipboard,
  type ClipboardProtocol,
  ClipboardTooLarge,
  type ClipFormat,
  type ValueChecker,
} from './clipboard.js';
import { hostError, tooLarge } from './errors.js';
import { num11 } from './format.js';
import type { Counters } from './stats.js';
import { Watched } from './text.js';

interface ClipFid {
  snapshot?: Buffer;
  parts?: Buffer[];
  size: number;
  checker?: ValueChecker;
  /** The protocol whose checker saw the writes. */
  checkedBy?: ClipboardProtocol;
  /** Set when a write failed: the copy is abandoned, and later writes say so. */
  failed?: boolean;
}

/** `ctl snarf on|off`: shared by `snarf` and every `clip/` file. */
export interface ClipSwitch {
  enabled: boolean;
}

/** A clipboard file: `snarf` (text, a commit is a new copy) or `clip/FORMAT` (the §4a rule). */
export class ClipFile extends File {
  constructor(
    name: string,
    private readonly format: ClipFormat,
    /** snarf: a commit is a whole new copy; clip/: it replaces its format in the pending copy. */
    private readonly whole: boolean,
    private readonly clip: Clipboard,
    private readonly sharing: ClipSwitch,
    private readonly counters: Counters,
    /** Called after a commit reached the clipboard. */
    private readonly onSet: (data: Buffer) => void,
  ) {
    super(name, 0o666);
  }

  /** How errors name the file: `snarf`, `clip/rtf`. */
  private get label(): string {
    return this.whole ? this.name : `clip/${this.name}`;
  }

  override open(fid: FidContext, mode: OpenMode): void {
    if (!this.sharing.enabled) throw p9err(Errno.EACCES, 'clipboard sharing is off (ctl: snarf on)');
    fid.aux = { size: 0, ...(canWrite(mode) ? { parts: [] } : {}) } satisfies ClipFid;
  }

  override async read(fid: FidContext, offset: number, count: number): Promise<Uint8Array> {
    const a = fid.aux as ClipFid;
    if (offset === 0 || !a.snapshot) {
      try {
        a.snapshot = await this.clip.current().read(this.format);
        this.counters.add('snarfReads');
      } catch (e) {
        throw hostError(e);
      }
    }
    return readBuf(a.snapshot, offset, count);
  }

  override write(fid: FidContext, _offset: number, data: Uint8Array): number {
    const a = fid.aux as ClipFid;
    if (!a.parts)
      throw p9err(
        Errno.EBADF,
        a.failed ? 'an earlier write failed; reopen to copy again' : 'not open for writing',
      );
    const proto = this.clip.current();
    // A failed write abandons this fid's copy: nothing is committed at clunk.
    const fail = (e: Error) => {
      a.parts = undefined;
      a.checker = undefined;
      a.failed = true;
      return e;
    };
    if (data.length === 0) {
      a.parts = [];
      a.size = 0;
      a.checker = undefined;
      a.checkedBy = undefined;
      return 0;
    }
    const why = proto.refuses(this.format, true);
    if (why) throw fail(p9err(Errno.EOPNOTSUPP, `${this.label}: ${why}`));
    if (a.size + data.length > proto.limit(this.format))
      throw fail(tooLarge(`${this.label} buffer too long: ${proto.limitText(this.format)}`));
    if (a.size === 0 || a.checkedBy !== proto) {
      // The first piece, or the protocol changed since: check from the start.
      a.checker = proto.checker(this.format);
      a.checkedBy = proto;
      for (const p of a.parts) this.check(a, p, fail);
    }
    this.check(a, data, fail);
    a.parts.push(Buffer.from(data));
    a.size += data.length;
    return data.length;
  }

  private check(a: ClipFid, data: Uint8Array, fail: (e: Error) => Error): void {
    try {
      a.checker?.push(data);
    } catch (e) {
      throw fail(p9err(Errno.EINVAL, `${this.label}: ${(e as Error).message}`));
    }
  }

  override async clunk(fid: FidContext): Promise<void> {
    const a = fid.aux as ClipFid | undefined;
    if (!a?.parts) return;
    const data = Buffer.concat(a.parts);
    a.parts = undefined;
    // The protocol at the commit decides: checked again if it is not the one the writes saw.
    const proto = this.clip.current();
    const why = proto.refuses(this.format, true);
    if (why) throw p9err(Errno.EOPNOTSUPP, `${this.label}: ${why}`);
    if (data.length > proto.limit(this.format))
      throw tooLarge(`${this.label} buffer too long: ${proto.limitText(this.format)}`);
    try {
      // The writes' checker if this protocol checked them, else this protocol's over the whole value.
      if (a.checkedBy === proto) a.checker?.end();
      else {
        const c = proto.checker(this.format);
        c?.push(data);
        c?.end();
      }
    } catch (e) {
      throw p9err(Errno.EINVAL, `${this.label}: ${(e as Error).message}`);
    }
    try {
      await proto.write(this.format, data, this.whole);
      this.counters.add('snarfWrites');
      this.onSet(data);
    } catch (e) {
      if (e instanceof ClipboardTooLarge) throw tooLarge(`${this.label} buffer too long: ${e.message}`);
      throw hostError(e);
    }
  }
}

/** `clip/`: one file per format (docs/protocol/tree.md §4a). */
export class ClipDir extends Dir {
  constructor(clip: Clipboard, sharing: ClipSwitch, counters: Counters, onSet: (format: ClipFormat) => void) {
    super('clip', 0o555);
    for (const f of CLIP_FORMATS)
      this.add(new ClipFile(f, f, false, clip, sharing, counters, () => onSet(f)));
  }
}

/** What snarfwait watches: changes seen, the text's length, and a hash to see a change of the same length. */
interface Seen {
  changes: number;
  length: number;
  hash: string;
}

const hashOf = (data: Uint8Array) => createHash('sha1').update(data).digest('hex');

/**
 * Watches the host clipboard for `snarfwait`: copy/paste v4 announces the host's changes
 * (`hostChanged`, called by the tree); the legacy protocol has no notification, so while someone
 * waits and the legacy protocol is in use, it is polled, and each change polled is `onChange`.
 */
export class ClipboardWatch {
  readonly state = new Watched<Seen>({ changes: 0, length: -1, hash: '' });
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly clip: Clipboard,
    private readonly intervalMs: number,
    private readonly onChange: () => void,
  ) {}

  /** Whether the protocol in use announces changes (no baseline poll to wait for). */
  get announced(): boolean {
    return this.clip.current().notifies;
  }

  /** The host pushed a new clipboard (announced by the protocol): always a change. */
  hostChanged(text: Uint8Array): void {
    const cur = this.state.value;
    this.state.set({ changes: cur.changes + 1, length: text.length, hash: hashOf(text) });
  }

  /** A poll's answer: the baseline when it is the first, else a change when it differs. */
  private polled(data: Uint8Array): void {
    const cur = this.state.value;
    const hash = hashOf(data);
    if (cur.hash === hash && cur.length === data.length) return;
    const first = cur.length === -1;
    this.state.set({ changes: first ? cur.changes : cur.changes + 1, length: data.length, hash });
    if (!first) this.onChange();
  }

  /** Starts polling if not running; it stops by itself when nobody waits. */
  ensurePolling(): void {
    if (this.timer) return;
    const tick = async () => {
      // Under copy/paste v4 the host's changes are announced: no host call at all.
      const proto = this.clip.current();
      if (!proto.notifies) {
        try {
          this.polled(await proto.read('text'));
        } catch {
          // The host may refuse for a while (copy/paste off); keep watching.
        }
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
    // Every change after the open is this fid's, read then or later. Only where the legacy
    // clipboard has no baseline yet does the first poll establish what the fid saw.
    const st = this.watch.state;
    fid.aux = { seen: st.value.length === -1 && !this.watch.announced ? -1 : st.version };
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
      // Legacy: wait for the baseline (the first poll). Announced changes need none: now is it.
      if (st.value.length === -1 && !this.watch.announced)
        await st.next(st.version, signal, () => this.watch.ensurePolling());
      a.seen = st.version;
    }
    const v = await st.next(a.seen, signal, () => this.watch.ensurePolling());
    a.seen = st.version;
    return Buffer.from(`${num11(v.changes)}${num11(v.length)}\n`).subarray(0, count);
  }
}
