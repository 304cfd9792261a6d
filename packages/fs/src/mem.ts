/**
 * `mem/` (docs/protocol/tree.md §19): the host's resource view of this VM (VMGuestLib) and the
 * Linux balloon driver's own figures; and the watch that puts a line in `events` when the
 * balloon's target or the guestlib session changes, polling only while `events` is open.
 */
import type { GuestLibInfo, GuestLibStatEntry, GuestLibValue } from '@vmw9/rpc';
import { GuestLibError, GuestLibStat } from '@vmw9/rpc';
import { canRead, Dir, Errno, EventFile, type FidContext, p9err } from 'ninep';
import { type BalloonReading, framesToMB } from './balloon.js';
import { TextFile } from './text.js';

export interface MemSources {
  /** The host's statistics: a GuestLibClient on the tree's RPCI sender, or a test double. */
  guestlib: { info(): Promise<GuestLibInfo> };
  /** The balloon driver's reading (readBalloon on the default path, or a fixture). */
  balloon: () => Promise<BalloonReading>;
}

/** A statistic's value as text: u64 in decimal, RESOURCE_POOL_PATH_LONG's bytes up to their NUL. */
export function guestLibValueText(v: GuestLibValue): string {
  if (v instanceof Uint8Array) {
    const end = v.indexOf(0);
    return Buffer.from(end < 0 ? v : v.subarray(0, end)).toString('utf8');
  }
  return String(v);
}

/** One statistic of a guestlib reply: its value, or why there is none. */
export interface GuestLibRow {
  name: GuestLibStatEntry['name'];
  value?: GuestLibValue;
  /** Invalid on the host (`not available`), or past what it sent, an older host or V2 (`not sent by this host`). */
  why?: 'not available' | 'not sent by this host';
}

/** Every statistic of the V3 definition in id order, with its value or why there is none: never an invented 0. */
export function guestLibRows(
  info: GuestLibInfo,
  table: readonly GuestLibStatEntry[] = GuestLibStat,
): GuestLibRow[] {
  return table.map(({ id, name }) => {
    const value = info.stats[name];
    if (value !== undefined) return { name, value };
    return { name, why: id > info.statCount ? 'not sent by this host' : 'not available' };
  });
}

/** The statistics as lines `NAME VALUE`, the session id first (`vmw9 stat all` and `mem/guestlib`). */
export function guestLibLines(
  info: GuestLibInfo,
  table: readonly GuestLibStatEntry[] = GuestLibStat,
): string[] {
  const rows = guestLibRows(info, table);
  const w = Math.max(...rows.map((r) => r.name.length));
  return [
    `${'SESSION_ID'.padEnd(w)} 0x${info.sessionId.toString(16)}`,
    ...rows.map((r) => `${r.name.padEnd(w)} ${r.value === undefined ? r.why : guestLibValueText(r.value)}`),
  ];
}

/** The balloon file's text: the driver's figures, or why there are none. */
export function balloonText(r: BalloonReading): string {
  if (r.state === 'absent') return 'no balloon driver\n';
  if (r.state === 'unreadable') return `balloon driver loaded; statistics unreadable: ${r.why}\n`;
  const s = r.stats;
  const lines = [
    'driver vmw_balloon',
    `target ${s.target} frames ${framesToMB(s.target)} MB`,
    `current ${s.current} frames ${framesToMB(s.current)} MB`,
  ];
  if (s.resetting !== undefined) lines.push(`resetting ${s.resetting ? 'yes' : 'no'}`);
  if (s.capabilities !== undefined) lines.push(`capabilities 0x${s.capabilities.toString(16)}`);
  for (const [name, op] of Object.entries(s.ops)) lines.push(`op ${name} ${op.count} failed ${op.failed}`);
  for (const [name, n] of Object.entries(s.counters)) lines.push(`counter ${name} ${n}`);
  return `${lines.join('\n')}\n`;
}

export class MemDir extends Dir {
  constructor(src: MemSources) {
    super('mem', 0o555);
    this.add(
      new TextFile('guestlib', async () => {
        try {
          return `${guestLibLines(await src.guestlib.info()).join('\n')}\n`;
        } catch (e) {
          // libguestlib's own text: "VMware Guest API is not enabled on the host", …
          if (e instanceof GuestLibError)
            throw p9err(e.code === 'not-enabled' ? Errno.EOPNOTSUPP : Errno.EIO, e.text);
          throw e;
        }
      }),
    );
    this.add(new TextFile('balloon', async () => balloonText(await src.balloon())));
  }
}

/** Starts `fn` after `ms`; returns its cancel. Injected so tests move time themselves. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

export const defaultSetTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return () => clearTimeout(t);
};

/**
 * Polls the balloon target and the session id every `intervalMs` while started, and posts
 * `mem balloon target FRAMES` / `mem session 0xID` when one differs from the poll before. The
 * first poll after a start only sets the baseline (a reader hears of changes after its open).
 */
export class MemWatch {
  private cancel: (() => void) | undefined;
  private running = false;
  /** Bumped by every start and stop: a poll still in flight from an earlier run schedules nothing. */
  private run = 0;
  private last: { target?: number; session?: bigint } = {};
  /** Polls made (for tests and `stats`-like diagnostics). */
  polls = 0;

  constructor(
    private readonly src: MemSources,
    private readonly post: (line: string) => void,
    private readonly intervalMs: number,
    private readonly setTimer: SetTimer = defaultSetTimer,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.run++;
    this.last = {};
    void this.tick(true, this.run);
  }

  stop(): void {
    this.running = false;
    this.run++;
    this.cancel?.();
    this.cancel = undefined;
  }

  private async tick(baseline: boolean, run: number): Promise<void> {
    this.cancel = undefined;
    this.polls++;
    const [b, g] = await Promise.allSettled([this.src.balloon(), this.src.guestlib.info()]);
    // Stopped, or stopped and started again (events closed and reopened) while this poll ran.
    if (run !== this.run) return;
    // A source that fails this time (the Guest API off, debugfs unreadable) changes nothing.
    const target = b.status === 'fulfilled' && b.value.state === 'loaded' ? b.value.stats.target : undefined;
    const session = g.status === 'fulfilled' ? g.value.sessionId : undefined;
    if (!baseline && target !== undefined && target !== this.last.target)
      this.post(`mem balloon target ${target}\n`);
    if (
      !baseline &&
      session !== undefined &&
      this.last.session !== undefined &&
      session !== this.last.session
    )
      this.post(`mem session 0x${session.toString(16)}\n`);
    if (target !== undefined) this.last.target = target;
    if (session !== undefined) this.last.session = session;
    this.cancel = this.setTimer(() => void this.tick(false, run), this.intervalMs);
  }
}

/** `events`, telling `onReaders` how many fids have it open for reading (the mem watch runs while any do). */
export class ReaderCountedEventFile extends EventFile {
  private readonly readers = new Set<FidContext>();
  onReaders: (n: number) => void = () => {};

  override open(fid: FidContext): void {
    super.open(fid);
    if (!canRead(fid.mode) || this.readers.has(fid)) return;
    this.readers.add(fid);
    this.onReaders(this.readers.size);
  }

  override clunk(fid: FidContext): void {
    if (!this.readers.delete(fid)) return;
    this.onReaders(this.readers.size);
  }
}
