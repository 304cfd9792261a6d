/**
 * A transfer's progress on a terminal: nothing for the first second (most copies are over by
 * then), then one line redrawn in place at most every 100 ms, and a final line when done. Off when
 * standard error is not a terminal or the output is JSON, so scripts and logs see nothing.
 */

/** How long a transfer runs before the bar appears. */
export const PROGRESS_DELAY_MS = 1000;
const REDRAW_MS = 100;

export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export class Progress {
  private done = 0;
  private readonly started: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly label: string,
    /** Bytes expected, when known (a bar and a percentage), else only bytes and rate. */
    private readonly total: number | undefined,
    private readonly sink: ProgressSink | undefined,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.started = now();
  }

  /** A progress display for `label` on stderr, or one that shows nothing. */
  static forTerminal(label: string, total: number | undefined, json: boolean): Progress {
    return new Progress(label, total, !json && process.stderr.isTTY ? process.stderr : undefined);
  }

  add(bytes: number): void {
    this.done += bytes;
    if (!this.sink) return;
    const t = this.now();
    if (t - this.started < PROGRESS_DELAY_MS || t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    this.draw(t);
  }

  /** Ends the line, if one was drawn (with the final figures). */
  finish(): void {
    if (!this.sink || !this.drawn) return;
    this.draw(this.now());
    this.sink.write('\n');
  }

  /** The line as drawn at time `t`. */
  line(t: number): string {
    const secs = Math.max(0.001, (t - this.started) / 1000);
    const rate = `${size(this.done / secs)}/s`;
    if (this.total === undefined || this.total === 0) return `${this.label} ${size(this.done)} ${rate}`;
    const frac = Math.min(1, this.done / this.total);
    const width = 24;
    const full = Math.round(frac * width);
    const bar = `[${'#'.repeat(full)}${'.'.repeat(width - full)}]`;
    return `${this.label} ${bar} ${String(Math.floor(frac * 100)).padStart(3)}% ${size(this.done)}/${size(this.total)} ${rate}`;
  }

  private draw(t: number): void {
    const cols = this.sink?.columns ?? 80;
    let l = this.line(t);
    if (l.length > cols - 1) l = `…${l.slice(l.length - (cols - 2))}`;
    this.sink!.write(`\r${l}\x1b[K`);
    this.drawn = true;
  }
}

/** Bytes as people read them: 512 B, 3.4 KiB, 27.0 MiB, 1.20 GiB. */
export function size(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
