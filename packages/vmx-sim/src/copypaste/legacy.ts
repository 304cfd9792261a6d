/**
 * The legacy backdoor clipboard (commands 6–9, docs/protocol/backdoor.md): text only, 4 bytes per
 * call, at most MAX_SELECTION_BUFFER_LENGTH bytes. It reads and writes the text of the host's one
 * clipboard (clipboard.ts), so a guest on the legacy protocol and one on version 4 see the same
 * clipboard.
 */
import { Cmd, DONT_EXCHANGE_SELECTIONS, MAX_SELECTION_BUFFER_LENGTH, type Registers } from '@vmw9/backdoor';
import type { HostClipboard } from './clipboard.js';

/** GETSELLENGTH, GETNEXTPIECE, SETSELLENGTH, SETNEXTPIECE. */
export const LEGACY_CLIPBOARD_COMMANDS: ReadonlySet<number> = new Set([
  Cmd.GETSELLENGTH,
  Cmd.GETNEXTPIECE,
  Cmd.SETSELLENGTH,
  Cmd.SETNEXTPIECE,
]);

export class LegacyClipboard {
  /**
   * False plays a host that offers only the RPC protocol: the four commands are refused as any
   * unsupported command is (eax = 0xFFFFFFFF). open-vm-tools' copyPasteCompat.c reads that
   * GETSELLENGTH as -1, "no clipboard", and ignores what the SET commands return.
   */
  readonly enabled: boolean;
  /** False: GETSELLENGTH answers -2, VMWARE_DONT_EXCHANGE_SELECTIONS (copy/paste disabled for this VM). */
  exchange = true;
  /** What a guest last sent over these commands, and when (host clock). */
  guestSent: { data: Buffer; at: number } | null = null;
  /** The text being read: fixed at GETSELLENGTH, so a change meanwhile cannot tear it. */
  private reading: Buffer = Buffer.alloc(0);
  private readPos = 0;
  private incoming: { length: number; buf: Buffer; got: number } | undefined;

  constructor(
    private readonly clipboard: HostClipboard,
    private readonly now: () => number,
    enabled = true,
  ) {
    this.enabled = enabled;
  }

  /** Answers one of the four commands; null = unsupported (the caller answers eax = 0xFFFFFFFF). */
  handle(cmd: number, r: Registers): Partial<Registers> | null {
    if (!this.enabled) return null;
    switch (cmd) {
      case Cmd.GETSELLENGTH: {
        this.readPos = 0;
        if (!this.exchange) return { eax: DONT_EXCHANGE_SELECTIONS >>> 0 };
        this.reading = this.clipboard.text().subarray(0, MAX_SELECTION_BUFFER_LENGTH);
        return { eax: this.reading.length };
      }
      case Cmd.GETNEXTPIECE: {
        const w = Buffer.alloc(4);
        this.reading.copy(w, 0, this.readPos, this.readPos + 4);
        this.readPos += 4;
        return { eax: w.readUInt32LE(0) };
      }
      case Cmd.SETSELLENGTH: {
        const len = r.ebx;
        if (len > MAX_SELECTION_BUFFER_LENGTH) return { eax: 0 };
        this.incoming = { length: len, buf: Buffer.alloc(len), got: 0 };
        if (len === 0) this.take();
        return {};
      }
      case Cmd.SETNEXTPIECE: {
        const inc = this.incoming;
        if (!inc) return {};
        const w = Buffer.alloc(4);
        w.writeUInt32LE(r.ebx, 0);
        inc.got += w.copy(inc.buf, inc.got, 0, Math.min(4, inc.length - inc.got));
        if (inc.got >= inc.length) this.take();
        return {};
      }
      default:
        return null;
    }
  }

  private take(): void {
    const inc = this.incoming!;
    this.incoming = undefined;
    this.guestSent = { data: inc.buf, at: this.now() };
    // On a real host the guest's copy becomes the host's clipboard; an empty one empties it.
    if (inc.length === 0) this.clipboard.set(new Map(), 'legacy guest→host');
    else this.clipboard.setText(inc.buf, 'legacy guest→host');
  }
}
