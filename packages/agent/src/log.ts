/**
 * The agent's log: pino, JSON lines to stderr (journald takes them under systemd), with the last
 * lines kept in a ring for the tree's `kmesg`, and identical messages rate-limited: a host that
 * keeps failing the same way must not fill /var/log (open-vm-tools #177, #503). The first
 * occurrence is logged; repeats within the window are counted and reported with the next one
 * after it (`repeated: n`).
 */
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

export interface LogOptions {
  level?: LogLevel;
  /** Where the JSON lines go; default stderr. */
  stream?: { write(line: string): void };
  /** Lines kept for `kmesg` (default 200). */
  ringLines?: number;
  /** Identical messages within this window are logged once (default 60 s). */
  repeatWindowMs?: number;
}

export class AgentLog {
  readonly logger: Logger;
  private readonly ring: string[] = [];
  private readonly ringLines: number;
  private readonly repeats = new Map<string, { since: number; suppressed: number }>();

  constructor(opts: LogOptions = {}) {
    this.ringLines = opts.ringLines ?? 200;
    const window = opts.repeatWindowMs ?? 60_000;
    const out = opts.stream ?? pino.destination({ dest: 2, sync: true });
    const ring = this.ring;
    const limit = this.ringLines;
    const sink = {
      write(line: string) {
        ring.push(kmesgLine(line));
        if (ring.length > limit) ring.shift();
        out.write(line);
      },
    };
    const repeats = this.repeats;
    this.logger = pino(
      {
        name: 'vmw9-agent',
        level: opts.level ?? 'info',
        base: { pid: process.pid },
        hooks: {
          logMethod(args, method, level) {
            const msg = args.find((a): a is string => typeof a === 'string') ?? '';
            const key = `${level}\0${msg}`;
            const now = Date.now();
            const seen = repeats.get(key);
            if (seen && now - seen.since < window) {
              seen.suppressed++;
              return;
            }
            repeats.set(key, { since: now, suppressed: 0 });
            if (repeats.size > 1000) repeats.delete(repeats.keys().next().value!);
            if (seen && seen.suppressed > 0) {
              const [first, ...rest] = args as unknown[];
              if (typeof first === 'object' && first !== null)
                return method.apply(this, [{ ...first, repeated: seen.suppressed }, ...rest] as never);
              return method.apply(this, [{ repeated: seen.suppressed }, ...args] as never);
            }
            return method.apply(this, args);
          },
        },
      },
      sink,
    );
  }

  /** The recent lines, oldest first, as text (`kmesg`). */
  recent(): string {
    return this.ring.join('');
  }
}

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** One pino JSON line as `TIME LEVEL message key=value…`, for people reading kmesg. */
function kmesgLine(json: string): string {
  try {
    const o = JSON.parse(json) as Record<string, unknown>;
    const { time, level, msg, pid: _pid, hostname: _h, name: _n, ...rest } = o;
    const extra = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const when = typeof time === 'number' ? new Date(time).toISOString() : '';
    return `${when} ${LEVEL_NAMES[level as number] ?? level} ${msg ?? ''}${extra ? ` ${extra}` : ''}\n`;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
}
