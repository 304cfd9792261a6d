/**
 * The host's ONE clipboard, as a real host has one: every format the guests can carry (text, RTF,
 * HTML, PNG, …; any DnD/CP format kept as bytes), shared by the legacy backdoor commands (which
 * see its text only) and copy/paste version 4, with a record of which protocol last moved it and
 * when. Items are kept as the version 4 clipboard carries them (docs/protocol/dndcp.md §5): the
 * text as UTF-8 with one trailing NUL.
 */
import { EventEmitter } from 'node:events';
import {
  type CpClipboard,
  CpFormat,
  type CpFormatId,
  formatName,
  isCpFormatId,
  itemText,
  textItem,
} from '@vmw9/dndcp';

/** Who moved the clipboard last. */
export type ClipboardMover =
  /** A guest sent its text over the legacy backdoor (SETSELLENGTH/SETNEXTPIECE). */
  | 'legacy guest→host'
  /** A guest answered REQUEST_CLIPBOARD with a changed clipboard (version 4). */
  | 'v4 guest→host'
  /** The host pushed it to a guest (RECV_CLIPBOARD, version 4). */
  | 'v4 host→guest'
  /** The console (`clip set`, `clip set-file`). */
  | 'console'
  /** A program using the VmxHost API (tests). */
  | 'api';

export interface ClipboardMove {
  by: ClipboardMover;
  /** The version 4 session it travelled in. */
  sessionId?: number;
  /** Host clock (ms since the epoch). */
  at: number;
}

/** The format names the console takes, e.g. `clip set-file png PATH`. */
export const CONSOLE_FORMATS: Readonly<Record<string, CpFormatId>> = Object.freeze({
  text: CpFormat.TEXT,
  rtf: CpFormat.RTF,
  html: CpFormat.HTML,
  png: CpFormat.IMG_PNG,
});

/** The short name of a format (`text`, `png`, …), or its protocol name in lower case. */
export function shortFormatName(f: number): string {
  for (const [name, id] of Object.entries(CONSOLE_FORMATS)) if (id === f) return name;
  return formatName(f).toLowerCase();
}

export class HostClipboard extends EventEmitter {
  private items = new Map<CpFormatId, Buffer>();
  private move: ClipboardMove | undefined;
  /** Changes so far (every set, even to the same content). */
  generation = 0;

  constructor(private readonly now: () => number) {
    super();
  }

  /** Replaces the whole clipboard (a copy replaces every format, as on a desktop). */
  set(items: ReadonlyMap<number, Uint8Array>, by: ClipboardMover, sessionId?: number): void {
    const next = new Map<CpFormatId, Buffer>();
    for (const [f, data] of items) {
      if (!isCpFormatId(f)) throw new RangeError(`${formatName(f)} is not a clipboard format`);
      next.set(f, Buffer.from(data));
    }
    this.items = next;
    this.generation++;
    this.noteMove(by, sessionId);
    this.emit('change', this.move);
  }

  /** Sets the clipboard to text (UTF-8; one trailing NUL added, as version 4 carries it). */
  setText(text: string | Uint8Array, by: ClipboardMover): void {
    this.set(new Map([[CpFormat.TEXT, textItem(text)]]), by);
  }

  /** Records that the clipboard travelled without changing (a push to a guest). */
  noteMove(by: ClipboardMover, sessionId?: number): void {
    this.move = { by, at: this.now(), ...(sessionId !== undefined ? { sessionId } : {}) };
  }

  get lastMove(): ClipboardMove | undefined {
    return this.move;
  }

  get(format: CpFormatId): Buffer | undefined {
    return this.items.get(format);
  }

  /** The formats held, in format order. */
  formats(): Array<[CpFormatId, Buffer]> {
    return [...this.items].sort(([a], [b]) => a - b);
  }

  get empty(): boolean {
    return this.items.size === 0;
  }

  /** The text without its trailing NUL: what the legacy backdoor carries. Empty when there is no text. */
  text(): Buffer {
    const t = this.items.get(CpFormat.TEXT);
    return t ? itemText(t) : Buffer.alloc(0);
  }

  /** The text as the legacy clipboard had it (kept for existing callers). */
  get host(): Buffer {
    return this.text();
  }

  /** As a version 4 clipboard (changed = 1). */
  toCpClipboard(): CpClipboard {
    return { items: new Map(this.items), changed: true };
  }
}
