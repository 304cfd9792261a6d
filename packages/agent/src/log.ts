/**
 * The agent's log: pino, with the last lines kept in a ring for the tree's `kmesg`, and identical
 * messages rate-limited: a host that keeps failing the same way must not fill /var/log
 * (open-vm-tools #177, #503). The first occurrence is logged; repeats within the window are
 * counted and reported with the next one after it (`repeated: n`).
 *
 * Two faces of the same lines: JSON for machines (journald under systemd, anything piped) and, on
 * a terminal, one readable line each through pino-pretty. pino always produces JSON; the ring and
 * the repeat count work on that, so kmesg and suppression are the same in both formats, and only
 * what reaches the destination is reformatted. pino-pretty is loaded only when a pretty log is made.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { LogFormat, LogFormatSetting, LogLevel } from './config.js';

export interface LogOptions {
  level?: LogLevel;
  /** Where the lines go; default stderr. `isTTY` (as on a tty.WriteStream) decides `auto`. */
  stream?: { write(line: string): void; isTTY?: boolean };
  /** Default `auto`: pretty when the destination is a terminal, else JSON. */
  format?: LogFormatSetting;
  /** Colours in the pretty format; default: the destination is a terminal and NO_COLOR is unset. */
  colorize?: boolean;
  /** Lines kept for `kmesg` (default 200). */
  ringLines?: number;
  /** Identical messages within this window are logged once (default 60 s). */
  repeatWindowMs?: number;
}

/** The format a choice comes to for a destination that is, or is not, a terminal. */
export function chooseLogFormat(choice: LogFormatSetting | undefined, isTTY: boolean): LogFormat {
  if (choice === 'json' || choice === 'pretty') return choice;
  return isTTY ? 'pretty' : 'json';
}

export class AgentLog {
  readonly logger: Logger;
  /** What reaches the destination (the ring is the same either way). */
  readonly format: LogFormat;
  private readonly ring: string[] = [];
  private readonly ringLines: number;
  private readonly repeats = new Map<string, { since: number; suppressed: number }>();

  constructor(opts: LogOptions = {}) {
    this.ringLines = opts.ringLines ?? 200;
    const window = opts.repeatWindowMs ?? 60_000;
    const out = opts.stream ?? pino.destination({ dest: 2, sync: true });
    const isTTY = opts.stream ? opts.stream.isTTY === true : process.stderr.isTTY === true;
    this.format = chooseLogFormat(opts.format, isTTY);
    const shown =
      this.format === 'pretty'
        ? prettyLines(opts.colorize ?? (isTTY && process.env['NO_COLOR'] === undefined))
        : (line: string) => line;
    const ring = this.ring;
    const limit = this.ringLines;
    const sink = {
      write(line: string) {
        ring.push(kmesgLine(line));
        if (ring.length > limit) ring.shift();
        out.write(shown(line));
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

/** pino-pretty's formatter for one JSON line: `[HH:MM:ss.l] LEVEL: message {key: value…}`. */
function prettyLines(colorize: boolean): (line: string) => string {
  // pino-pretty is CommonJS; require keeps the constructor synchronous and the JSON path free of it.
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;
  return prettyFactory({
    colorize,
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
  });
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
