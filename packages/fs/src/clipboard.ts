/**
 * The host clipboard behind `snarf` and `clip/` (docs/protocol/tree.md §4, §4a), over whichever
 * protocol the host offers: copy/paste version 4 over GuestRPC when the agent's engine negotiated
 * it (docs/protocol/dndcp.md), the legacy backdoor commands otherwise (text only,
 * docs/protocol/backdoor.md §12). The choice is made per operation
 * (`SwitchingClipboard.current()`), so a later negotiation, a disable or a host reset takes effect
 * at the next read or commit.
 */
import { type BackdoorPort, getClipboard, MAX_CLIPBOARD_SEND, setClipboard } from '@vmw9/backdoor';
import {
  Cap,
  type CopyPasteGuest,
  CP_ITEM_MAX,
  type CpClipboard,
  CpFormat,
  type CpFormatId,
  DndCpLimitError,
  decodeFileList,
  emptyClipboard,
  formatName,
  itemText,
  textItem,
} from '@vmw9/dndcp';
import { Errno, p9err } from 'ninep';

/** The formats `clip/` has a file for, by file name. */
export type ClipFormat = 'text' | 'rtf' | 'html' | 'png' | 'files';
export const CLIP_FORMATS: readonly ClipFormat[] = ['text', 'rtf', 'html', 'png', 'files'];

/** Each file's format on the wire and the host capability bit that lets it through (none: HTML). */
const WIRE: Readonly<Record<ClipFormat, { id: CpFormatId; cap?: number; capName?: string }>> = {
  text: { id: CpFormat.TEXT, cap: Cap.PLAIN_TEXT_CP, capName: 'PLAIN_TEXT_CP' },
  rtf: { id: CpFormat.RTF, cap: Cap.RTF_CP, capName: 'RTF_CP' },
  html: { id: CpFormat.HTML },
  png: { id: CpFormat.IMG_PNG, cap: Cap.IMAGE_CP, capName: 'IMAGE_CP' },
  files: { id: CpFormat.FILELIST, cap: Cap.FILE_CP, capName: 'FILE_CP' },
};

/** A format's name in `events` lines: the file's, else the wire name in lower case (`biff12`). */
export function clipFormatName(id: number): string {
  for (const f of CLIP_FORMATS) if (WIRE[f].id === id) return f;
  return formatName(id).toLowerCase();
}

/** Checks a value as it is written, piece by piece; each call throws an Error saying what is wrong. */
export interface ValueChecker {
  push(chunk: Uint8Array): void;
  end(): void;
}

/** The clipboard over one protocol. */
export interface ClipboardProtocol {
  /** `v4` or `legacy`: the word `ctl` and `version` show. */
  readonly name: 'v4' | 'legacy';
  /** The rest of `ctl`'s `clipboard` line: `legacy`, `v4`, `v4 caps 0x1555`. */
  describe(): string;
  /** Largest value one commit of `format` takes, in bytes as written to the file. */
  limit(format: ClipFormat): number;
  /** How the limit is named in an error: `copy/paste v4 takes at most N bytes`. */
  limitText(format: ClipFormat): string;
  /** Why `format` cannot be written now, or null. */
  refuses(format: ClipFormat, writing: boolean): string | null;
  /** A checker for a value being written (V4 text must be UTF-8), or undefined. */
  checker(format: ClipFormat): ValueChecker | undefined;
  /** What a paste in the guest gets now in `format`: empty when the clipboard lacks it. */
  read(format: ClipFormat): Promise<Buffer>;
  /**
   * A copy in the guest. `whole` (snarf): a new copy of this format alone. Otherwise (clip/): the
   * format replaces its own in the guest's pending copy (docs/protocol/tree.md §4a). Empty data
   * removes the format.
   */
  write(format: ClipFormat, data: Buffer, whole: boolean): Promise<void>;
  /** It announces host changes itself (no polling needed). */
  readonly notifies: boolean;
}

/** What the clipboard tells the tree: the host's new clipboard, or the host took the guest's copy. */
export type ClipboardNotice =
  /** The host pushed its clipboard: the format names it has, and the text's length. */
  | { type: 'host'; formats: string[]; text: Buffer }
  /** The host asked for the guest's clipboard and got the pending copy (these formats). */
  | { type: 'sent'; formats: string[] };

/** The tree's clipboard: the protocol to use now, and what it announces. */
export interface Clipboard {
  current(): ClipboardProtocol;
  /** Notices from a protocol that announces (V4); the function unsubscribes. */
  subscribe(listener: (n: ClipboardNotice) => void): () => void;
}

/** A commit the protocol cannot carry: its whole clipboard (or an item) would be over the limit. */
export class ClipboardTooLarge extends Error {
  override name = 'ClipboardTooLarge';
  constructor(
    /** What is too large: `the clipboard`, `its IMG_PNG item`. */
    readonly what: string,
    readonly size: number,
    /** The largest size allowed, inclusive. */
    readonly limit: number,
    /** Whose limit: `copy/paste v4`. */
    readonly protocol: string,
  ) {
    super(`${what} would be ${size} bytes: ${protocol} takes at most ${limit} bytes`);
  }
}

const refusedOnLegacy = (format: ClipFormat) =>
  `the host's legacy clipboard carries text only: ${format} needs copy/paste v4, which the host has not negotiated`;

/** The clipboard over the legacy backdoor commands 6–9 (docs/protocol/backdoor.md §12): text only. */
export class LegacyClipboard implements ClipboardProtocol {
  readonly name = 'legacy';
  readonly notifies = false;
  constructor(private readonly port: BackdoorPort) {}

  describe(): string {
    return 'legacy';
  }
  limit(): number {
    return MAX_CLIPBOARD_SEND;
  }
  limitText(): string {
    return `the host's legacy clipboard takes at most ${MAX_CLIPBOARD_SEND} bytes`;
  }
  refuses(format: ClipFormat): string | null {
    return format === 'text' ? null : refusedOnLegacy(format);
  }
  checker(): undefined {
    return undefined;
  }
  async read(format: ClipFormat): Promise<Buffer> {
    if (format !== 'text') throw p9err(Errno.EOPNOTSUPP, refusedOnLegacy(format));
    return Buffer.from(await getClipboard(this.port));
  }
  async write(format: ClipFormat, data: Buffer): Promise<void> {
    if (format !== 'text') throw p9err(Errno.EOPNOTSUPP, refusedOnLegacy(format));
    await setClipboard(this.port, data);
  }
}

/**
 * UTF-8 without NUL, checked as it streams in: copy/paste v4 carries text as UTF-8 and the peer
 * refuses a whole clipboard whose text is not (docs/protocol/dndcp.md §5.1), and the text ends at
 * its first NUL on the peer's side, so either would lose the copy silently there.
 */
class Utf8Checker implements ValueChecker {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private offset = 0;
  push(chunk: Uint8Array): void {
    const nul = chunk.indexOf(0);
    if (nul >= 0)
      throw new Error(`a NUL byte at offset ${this.offset + nul}: copy/paste v4 text ends at the first NUL`);
    try {
      this.decoder.decode(chunk, { stream: true });
    } catch {
      throw new Error(
        `not valid UTF-8 (within bytes ${this.offset}–${this.offset + chunk.length - 1}): copy/paste v4 carries text as UTF-8`,
      );
    }
    this.offset += chunk.length;
  }
  end(): void {
    try {
      this.decoder.decode();
    } catch {
      throw new Error('not valid UTF-8 (it ends inside a character): copy/paste v4 carries text as UTF-8');
    }
  }
}

/**
 * The clipboard over copy/paste version 4 (docs/protocol/dndcp.md §6): reads are what a paste in
 * the guest gets now (the newest of the host's last push and the guest's last copy); a commit
 * becomes the guest's copy, which the host takes at its next REQUEST_CLIPBOARD (the guest never
 * pushes). The host's pushes and requests are announced as notices.
 */
export class CopyPasteClipboard implements ClipboardProtocol {
  readonly name = 'v4';
  readonly notifies = true;

  constructor(readonly guest: CopyPasteGuest) {}

  /** Version 4 negotiated and enabled: this protocol is the one in use. */
  get active(): boolean {
    return this.guest.active;
  }

  describe(): string {
    const caps = this.guest.hostCaps;
    return caps === undefined ? 'v4' : `v4 caps 0x${caps.toString(16).padStart(4, '0')}`;
  }

  /**
   * An item is at most CP_ITEM_MAX − 1 bytes (docs/protocol/dndcp.md §5.3); text and RTF items
   * carry a trailing NUL the file does not show.
   */
  limit(format: ClipFormat): number {
    return CP_ITEM_MAX - 1 - (format === 'text' || format === 'rtf' ? 1 : 0);
  }
  limitText(format: ClipFormat): string {
    return `copy/paste v4 takes at most ${this.limit(format)} bytes`;
  }

  refuses(format: ClipFormat, writing: boolean): string | null {
    if (!writing) return null;
    if (format === 'files')
      return 'writing a file list is not supported: the host would fetch the files from the guest over HGFS, which this agent does not serve';
    const w = WIRE[format];
    const caps = this.guest.hostCaps;
    // Sent anyway, the host would drop it unseen: say so instead (docs/protocol/dndcp.md §3.3).
    if (w.cap !== undefined && caps !== undefined && (caps & w.cap) === 0)
      return `the host does not take ${format} (its copy/paste capabilities 0x${caps.toString(16)} lack ${w.capName})`;
    return null;
  }

  checker(format: ClipFormat): ValueChecker | undefined {
    return format === 'text' ? new Utf8Checker() : undefined;
  }

  async read(format: ClipFormat): Promise<Buffer> {
    const item = this.guest.current()?.clipboard.items.get(WIRE[format].id);
    if (!item) return Buffer.alloc(0);
    switch (format) {
      case 'text':
      case 'rtf':
        return Buffer.from(itemText(item));
      case 'files': {
        let names: string[];
        try {
          names = decodeFileList(item).relNames;
        } catch (e) {
          throw p9err(Errno.EIO, `the host's file list does not decode: ${(e as Error).message}`);
        }
        return Buffer.from(names.map((n) => `${n}\n`).join(''));
      }
      default:
        return Buffer.from(item);
    }
  }

  async write(format: ClipFormat, data: Buffer, whole: boolean): Promise<void> {
    const why = this.refuses(format, true);
    if (why) throw p9err(Errno.EOPNOTSUPP, why);
    // The clip/ rule (docs/protocol/tree.md §4a): add to the pending copy while it is the guest's
    // and not yet taken; otherwise start a new copy. The engine says which copy is pending: a
    // commit made while the host is taking an earlier copy must not be mistaken for the taken one.
    const base = whole ? undefined : this.guest.pendingGuestClipboard();
    const next = emptyClipboard(true);
    if (base) for (const [id, item] of base.items) next.items.set(id, item);
    const id = WIRE[format].id;
    if (data.length === 0) next.items.delete(id);
    else next.items.set(id, format === 'text' || format === 'rtf' ? textItem(data) : Buffer.from(data));
    try {
      this.guest.setGuestClipboard(next);
    } catch (e) {
      if (e instanceof DndCpLimitError)
        throw new ClipboardTooLarge(
          e.what === 'clipboard' ? 'the clipboard' : `its ${e.what.replace(/^clipboard item /, '')} item`,
          e.size,
          e.limit,
          'copy/paste v4',
        );
      throw e;
    }
  }
}

/** Legacy, or V4 once the engine negotiated it: decided at every operation. */
export class SwitchingClipboard implements Clipboard {
  constructor(
    readonly legacy: ClipboardProtocol,
    readonly v4?: CopyPasteClipboard,
  ) {}

  current(): ClipboardProtocol {
    return this.v4?.active ? this.v4 : this.legacy;
  }

  subscribe(listener: (n: ClipboardNotice) => void): () => void {
    const guest = this.v4?.guest;
    if (!guest) return () => {};
    const names = (c: CpClipboard) => [...c.items.keys()].sort((a, b) => a - b).map(clipFormatName);
    const onHost = (c: CpClipboard) => {
      const text = c.items.get(CpFormat.TEXT);
      listener({
        type: 'host',
        formats: names(c),
        text: text ? Buffer.from(itemText(text)) : Buffer.alloc(0),
      });
    };
    const onSent = (c: CpClipboard) => {
      if (c.changed) listener({ type: 'sent', formats: names(c) });
    };
    guest.on('host-clipboard', onHost);
    guest.on('sent', onSent);
    return () => {
      guest.off('host-clipboard', onHost);
      guest.off('sent', onSent);
    };
  }
}
