/**
 * The display: rio's `wctl`, as an event file. A read gives the 72-byte window record, the first
 * at once and each later one when the size changes (a host Resolution_Set makes it `pending`, a
 * guest write `size`/`resize`/`current` makes it `current`). docs/protocol/tree.md.
 */
import { type BackdoorPort, getScreenSize } from '@vmw9/backdoor';
import { CommandError, CommandTable, type EofMode, type FidContext, intArg } from 'ninep';
import { hostError } from './errors.js';
import { wctlRecord } from './format.js';
import { Watched, WatchedFile } from './text.js';

export interface DisplaySize {
  w: number;
  h: number;
  state: 'current' | 'pending';
}

/** The display size as the tree knows it, and how many times it was resized (for mouse's `r`). */
export class Display {
  readonly size = new Watched<DisplaySize>({ w: 0, h: 0, state: 'current' });
  resizes = 0;

  /** The host asks for a size (TCLO Resolution_Set): pending until the guest says it is current. */
  hostRequest(w: number, h: number): void {
    this.size.set({ w, h, state: 'pending' });
    this.resizes++;
  }

  /** The guest's display now has this size. */
  resized(w: number, h: number): void {
    this.size.set({ w, h, state: 'current' });
    this.resizes++;
  }
}

/** A display side in pixels: it must fit wctl's 11-column fields, and no display is larger. */
const SIDE_MAX = 65_535;
// rio answers every malformed wctl line `unknown control message`, an out-of-range size included.
const side = (s: string | undefined) => intArg(s, 1, SIDE_MAX, 'unknown control message');

export class WctlFile extends WatchedFile<DisplaySize> {
  // rio answers every malformed wctl line `unknown control message`, whatever was wrong with it.
  private readonly commands = new CommandTable<void>(
    [
      {
        name: 'size',
        args: 1,
        run: ([size]) => {
          const m = /^(\d+)x(\d+)(x\d+)?$/.exec(size!);
          if (!m) throw new CommandError('unknown control message');
          this.display.resized(side(m[1]), side(m[2]));
        },
      },
      {
        name: 'resize',
        args: 2,
        run: ([w, h]) => {
          this.display.resized(side(w), side(h));
        },
      },
      {
        name: 'current',
        args: 0,
        run: () => this.display.size.set({ ...this.display.size.value, state: 'current' }),
      },
    ],
    { badArgs: 'unknown control message' },
  );

  constructor(
    private readonly display: Display,
    private readonly port: BackdoorPort,
    eofmode: EofMode,
  ) {
    super('wctl', 0o664, undefined, eofmode);
  }

  protected override get watched(): Watched<DisplaySize> {
    return this.display.size;
  }

  protected override async nextRecord(
    fid: FidContext,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const size = this.display.size;
    if (size.value.w === 0) {
      // Nobody has said a size yet: ask the host for the one it shows now.
      try {
        const sz = await getScreenSize(this.port);
        if (size.value.w === 0) size.set({ w: sz.width, h: sz.height, state: 'current' });
      } catch (e) {
        throw hostError(e);
      }
    }
    return super.nextRecord(fid, count, signal);
  }

  protected override record(v: DisplaySize): string {
    return wctlRecord(v.w, v.h, v.state);
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    await this.commands.runLine(Buffer.from(data).toString('utf8'), undefined);
    return data.length;
  }
}
