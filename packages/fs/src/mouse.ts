/**
 * The pointer: `mouse` (the 49-byte /dev/mouse record, blocking until the state changes for this
 * fid), `pointer` (aux/vmwarefs' `%11d %11d ` position), `mousectl` (mode control).
 * Source: the vmmouse absolute device when present (it gives buttons and the wheel), enabled on
 * first use; otherwise GETPTRLOCATION polling (position only). Polling runs only while a reader waits.
 */
import { type BackdoorPort, getPointer, getScreenSize, setPointer, VmMouseDevice } from '@vmw9/backdoor';
import { CommandTable, type EofMode, Errno, type FidContext, File, intArg, p9err } from 'ninep';
import { badArg, hostError } from './errors.js';
import { mouseRecord, parseMouseWrite, plan9Buttons, pointerRecord } from './format.js';
import type { Counters } from './stats.js';
import { SnapshotFile, Watched, WatchedFile } from './text.js';

export interface MouseState {
  x: number;
  y: number;
  buttons: number;
  msec: number;
}

export type MouseMode = 'absolute' | 'relative' | 'off';

export class MouseSource {
  readonly state = new Watched<MouseState>({ x: 0, y: 0, buttons: 0, msec: 0 });
  mode: MouseMode = 'absolute';
  pollMs: number;
  /** Host screen size used to scale vmmouse's 0..0xFFFF coordinates to pixels (mousectl scale). */
  scale: { w: number; h: number } | null = null;
  private vmmouse: VmMouseDevice | null | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly start = Date.now();

  constructor(
    private readonly port: BackdoorPort,
    private readonly counters: Counters,
    pollMs = 20,
  ) {
    this.pollMs = pollMs;
  }

  /** Polls while someone waits; stops by itself. */
  ensurePolling(): void {
    if (this.timer || this.mode === 'off') return;
    const tick = async () => {
      try {
        await this.poll();
      } catch {
        // A host hiccup: keep the last state, try again next tick.
      }
      this.timer = this.state.waiting > 0 && this.mode !== 'off' ? setTimeout(tick, this.pollMs) : undefined;
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Forgets the vmmouse so the next poll enables it again (mousectl reset, mode changes). */
  async reset(): Promise<void> {
    if (this.vmmouse) await this.vmmouse.disable().catch(() => undefined);
    this.vmmouse = undefined;
  }

  private async device(): Promise<VmMouseDevice | null> {
    if (this.vmmouse !== undefined) return this.vmmouse;
    const dev = new VmMouseDevice(this.port);
    try {
      await dev.enable();
      if (this.mode === 'relative') await dev.requestRelative();
      else await dev.requestAbsolute();
      this.vmmouse = dev;
    } catch {
      this.vmmouse = null; // no vmmouse here: poll the position instead
    }
    return this.vmmouse;
  }

  private async poll(): Promise<void> {
    const dev = await this.device();
    const cur = this.state.value;
    const msec = (Date.now() - this.start) >>> 0;
    if (dev) {
      for (const p of await dev.readPackets()) {
        this.counters.add('pointerEvents');
        const size = this.scale ?? (await this.screen());
        const x = p.relative ? cur.x + p.x : Math.round((p.x * (size.w - 1)) / 0xffff);
        const y = p.relative ? cur.y + p.y : Math.round((p.y * (size.h - 1)) / 0xffff);
        this.state.set({ x, y, buttons: plan9Buttons(p), msec });
      }
      return;
    }
    const pos = await getPointer(this.port);
    if (pos.x !== cur.x || pos.y !== cur.y) {
      this.counters.add('pointerEvents');
      this.state.set({ x: pos.x, y: pos.y, buttons: 0, msec });
    }
  }

  private screenSize: { w: number; h: number } | undefined;
  private async screen(): Promise<{ w: number; h: number }> {
    if (!this.screenSize) {
      try {
        const s = await getScreenSize(this.port);
        this.screenSize = { w: s.width || 0x10000, h: s.height || 0x10000 };
      } catch {
        this.screenSize = { w: 0x10000, h: 0x10000 };
      }
    }
    return this.screenSize;
  }
}

/** The 49-byte /dev/mouse file. First read returns at once; later reads block for a change. */
export class MouseFile extends WatchedFile<MouseState> {
  constructor(
    private readonly src: MouseSource,
    private readonly port: BackdoorPort,
    /** Counts display resizes: the next record after one is an `r`. */
    private readonly display: { readonly resizes: number },
    eofmode: EofMode,
  ) {
    super('mouse', 0o666, undefined, eofmode);
  }

  protected override get watched(): Watched<MouseState> {
    return this.src.state;
  }

  override open(fid: FidContext): void {
    fid.aux = { seen: -1, resizeSeen: this.display.resizes };
    this.src.ensurePolling();
  }

  protected override onWait(): void {
    this.src.ensurePolling();
  }

  protected override async nextRecord(
    fid: FidContext,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    if (this.src.mode === 'off') throw p9err(Errno.EIO, 'the pointer is off (mousectl)');
    return super.nextRecord(fid, count, signal);
  }

  protected override record(v: MouseState, fid: FidContext): string {
    // The first record after a display resize is an `r` (Plan 9's mouse(3)).
    const a = fid.aux as { seen: number; resizeSeen: number };
    let type: 'm' | 'r' = 'm';
    if (a.resizeSeen !== this.display.resizes) {
      a.resizeSeen = this.display.resizes;
      type = 'r';
    }
    return mouseRecord(type, v.x, v.y, v.buttons, v.msec);
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    const p = parseMouseWrite(Buffer.from(data).toString('utf8'));
    if (!p) throw badArg('bad format on /dev/mouse');
    try {
      await setPointer(this.port, p.x, p.y);
    } catch (e) {
      if (e instanceof TypeError) throw badArg(`bad format on /dev/mouse: ${e.message}`);
      throw hostError(e);
    }
    return data.length;
  }
}

/** aux/vmwarefs' pointer file: `%11d %11d ` now (never blocks); write `x y`. */
export class PointerFile extends SnapshotFile {
  constructor(private readonly port: BackdoorPort) {
    super('pointer', 0o666);
  }

  protected override async snapshot(): Promise<string> {
    const p = await getPointer(this.port);
    return pointerRecord(p.x, p.y);
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    const m = /^\s*(-?\d+)\s+(-?\d+)\s*$/.exec(Buffer.from(data).toString('utf8'));
    if (!m || data.length >= 32) throw badArg('bad point format');
    try {
      await setPointer(this.port, Number(m[1]), Number(m[2]));
    } catch (e) {
      if (e instanceof TypeError) throw badArg(`bad point format: ${e.message}`);
      throw hostError(e);
    }
    return data.length;
  }
}

/** The slowest poll a reader may ask for (a timer's delay must stay a small number). */
const POLL_MAX_MS = 10_000;
/** The largest scale: the vmmouse reports absolute positions in 0..0xFFFF. */
const SCALE_MAX = 0xffff;

/** `mousectl`: one command per write: `absolute`, `relative`, `reset`, `poll MS`, `scale W H`. */
export class MousectlFile extends File {
  private readonly commands = new CommandTable<void>([
    ...(['absolute', 'relative'] as const).map((mode) => ({
      name: mode,
      args: 0,
      run: async () => {
        this.src.mode = mode;
        await this.src.reset();
      },
    })),
    { name: 'reset', args: 0, run: () => this.src.reset() },
    {
      name: 'poll',
      args: 1,
      run: ([ms]) => {
        this.src.pollMs = intArg(ms, 1, POLL_MAX_MS);
      },
    },
    {
      name: 'scale',
      args: 2,
      run: ([w, h]) => {
        this.src.scale = { w: intArg(w, 1, SCALE_MAX), h: intArg(h, 1, SCALE_MAX) };
      },
    },
  ]);

  constructor(private readonly src: MouseSource) {
    super('mousectl', 0o222);
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    await this.commands.runLine(Buffer.from(data).toString('utf8'), undefined);
    return data.length;
  }
}
