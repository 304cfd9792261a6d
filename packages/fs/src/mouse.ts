/**
 * The pointer: `mouse` (the 49-byte /dev/mouse record, blocking until the state changes for this
 * fid), `pointer` (aux/vmwarefs' `%11d %11d ` position), `mousectl` (mode control).
 * Source: the vmmouse absolute device when present (it gives buttons and the wheel), enabled on
 * first use; otherwise GETPTRLOCATION polling (position only). Polling runs only while a reader waits.
 */
import { type BackdoorPort, getPointer, getScreenSize, setPointer, VmMouseDevice } from '@vmw9/backdoor';
import { Errno, type FidContext, File, p9err } from 'ninep';
import { badArg, hostError } from './errors.js';
import { mouseRecord, parseMouseWrite, plan9Buttons, pointerRecord } from './format.js';
import type { Counters } from './stats.js';
import { TextFile, Watched } from './text.js';

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
export class MouseFile extends File {
  constructor(
    private readonly src: MouseSource,
    private readonly port: BackdoorPort,
    /** Set by wctl when the display was resized: the next record is an `r`. */
    private readonly resized: { version: number },
    private readonly settings: { eofmode: boolean },
  ) {
    super('mouse', 0o666);
  }

  override open(fid: FidContext): void {
    fid.aux = { seen: -1, resizeSeen: this.resized.version };
    this.src.ensurePolling();
  }

  override async read(
    fid: FidContext,
    offset: number,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const a = fid.aux as { seen: number; resizeSeen: number };
    if (this.settings.eofmode && offset > 0) return new Uint8Array(0);
    if (this.src.mode === 'off') throw p9err(Errno.EIO, 'the pointer is off (mousectl)');
    const v = await this.src.state.readNext(a, signal, () => this.src.ensurePolling());
    let type: 'm' | 'r' = 'm';
    if (a.resizeSeen !== this.resized.version) {
      a.resizeSeen = this.resized.version;
      type = 'r';
    }
    return Buffer.from(mouseRecord(type, v.x, v.y, v.buttons, v.msec)).subarray(0, count);
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
export function pointerFile(port: BackdoorPort): File {
  const f = new TextFile(
    'pointer',
    async () => {
      const p = await getPointer(port);
      return pointerRecord(p.x, p.y);
    },
    0o666,
  );
  f.write = async (_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> => {
    const m = /^\s*(-?\d+)\s+(-?\d+)\s*$/.exec(Buffer.from(data).toString('utf8'));
    if (!m || data.length >= 32) throw badArg('bad point format');
    try {
      await setPointer(port, Number(m[1]), Number(m[2]));
    } catch (e) {
      if (e instanceof TypeError) throw badArg(`bad point format: ${e.message}`);
      throw hostError(e);
    }
    return data.length;
  };
  return f;
}
