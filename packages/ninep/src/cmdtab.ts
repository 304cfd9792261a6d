/**
 * Control messages, the way Plan 9's ctl files read them (lib9p's parsecmd/lookupcmd and
 * respondcmderror): a line is split into fields by one quoting rule, its first field names an entry
 * of a command table, the entry says how many arguments it takes, and every complaint about the
 * line is `reason: "line"` (EINVAL), so a user sees which line was refused and why.
 */
import { Errno, type NinepError, p9err } from './errors.js';
import type { MaybePromise } from './tree.js';

/** Splits a command line into fields: whitespace-separated, single quotes group ('' is a quote). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    let field = '';
    while (i < line.length && !/\s/.test(line[i]!)) {
      if (line[i] === "'") {
        i++;
        for (;;) {
          if (i >= line.length) throw p9err(Errno.EINVAL, 'unbalanced quote in control message');
          if (line[i] === "'") {
            if (line[i + 1] === "'") {
              field += "'";
              i += 2;
              continue;
            }
            i++;
            break;
          }
          field += line[i++];
        }
      } else field += line[i++];
    }
    out.push(field);
  }
  return out;
}

/** The error for a refused control line: `reason: "line"` (lib9p's respondcmderror). */
export function cmdError(reason: string, line: string, errno: number = Errno.EINVAL): NinepError {
  return p9err(errno, `${reason}: "${line.trim()}"`);
}

/**
 * Thrown by a command's handler to refuse its line: the table answers `reason: "line"`. Any other
 * error a handler throws (a host failure, a NinepError of its own) is the write's error unchanged.
 */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly reason: string,
    readonly errno: number = Errno.EINVAL,
  ) {
    super(reason);
  }
}

/**
 * A decimal integer argument that must lie in [min, max]; anything else (a sign where none is
 * allowed, an exponent, a number too large for a timer or a record) is the command's error.
 * `reason` replaces the default wording where a file keeps an older one (rio's wctl).
 */
export function intArg(word: string | undefined, min: number, max: number, reason?: string): number {
  const n = word !== undefined && /^-?\d{1,16}$/.test(word) ? Number(word) : Number.NaN;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  throw new CommandError(reason ?? `expected an integer from ${min} to ${max}, got "${word ?? ''}"`);
}

/** Arguments after the command name: exactly n, or a range (`max` absent: no upper bound). */
export type ArgCount = number | { min?: number; max?: number };

/** One entry of a command table (Plan 9's Cmdtab): a name, its argument count, its handler. */
export interface Command<C> {
  readonly name: string;
  /** Absent: any number of arguments. */
  readonly args?: ArgCount;
  run(args: string[], ctx: C): MaybePromise<void>;
}

/** The reasons a table gives; a file keeping an older wording of its own may replace them. */
export interface CommandReasons {
  /** The first field names no entry. */
  unknown: string;
  /** The entry takes another number of arguments. */
  badArgs: string;
  /** A write that must hold one command holds none. */
  empty: string;
}

export const PLAN9_REASONS: CommandReasons = {
  unknown: 'unknown control message',
  badArgs: 'bad # args to command',
  empty: 'empty control message',
};

function countFits(count: ArgCount | undefined, n: number): boolean {
  if (count === undefined) return true;
  if (typeof count === 'number') return n === count;
  return n >= (count.min ?? 0) && n <= (count.max ?? Number.POSITIVE_INFINITY);
}

/**
 * The longest control message taken, in bytes (docs/protocol/9p.md §9): control messages are
 * short, and splitting a megabyte into fields would hold up every other client of the server.
 */
export const CTL_MAX = 8192;

/** The error for a control message longer than `max` bytes (EINVAL), before any of it is parsed. */
export function ctlTooLong(bytes: number, max = CTL_MAX): NinepError {
  return p9err(Errno.EINVAL, `control message too long (${bytes} bytes; at most ${max})`);
}

/** A command table: looks lines up and runs their handlers with a context `C` (e.g. the fid). */
export class CommandTable<C> {
  private readonly byName = new Map<string, Command<C>>();
  readonly reasons: CommandReasons;
  /** The longest text runLine and runLines take, in bytes; longer is refused unparsed. */
  maxBytes = CTL_MAX;

  constructor(commands: readonly Command<C>[], reasons: Partial<CommandReasons> = {}) {
    for (const c of commands) {
      if (this.byName.has(c.name)) throw new Error(`command table: "${c.name}" is listed twice`);
      this.byName.set(c.name, c);
    }
    this.reasons = { ...PLAN9_REASONS, ...reasons };
  }

  /** The entry names, in table order. */
  get names(): string[] {
    return [...this.byName.keys()];
  }

  /** lookupcmd: the entry for a line's fields (name first), or the line's error. */
  lookup(fields: readonly string[], line: string): Command<C> {
    const cmd = fields.length > 0 ? this.byName.get(fields[0]!) : undefined;
    if (!cmd) throw cmdError(fields.length > 0 ? this.reasons.unknown : this.reasons.empty, line);
    if (!countFits(cmd.args, fields.length - 1)) throw cmdError(this.reasons.badArgs, line);
    return cmd;
  }

  /** Runs one line, which must hold a command (an empty one is refused). */
  async runLine(line: string, ctx: C): Promise<void> {
    this.checkLength(line);
    const fields = tokenize(line);
    const cmd = this.lookup(fields, line);
    try {
      await cmd.run(fields.slice(1), ctx);
    } catch (e) {
      throw e instanceof CommandError ? cmdError(e.reason, line, e.errno) : e;
    }
  }

  /**
   * Runs every non-blank line of `text` in order. Every line is looked up first, so a write with
   * an unknown command or a wrong argument count anywhere applies none of its lines; a handler's
   * own refusal stops the lines after it.
   */
  async runLines(text: string, ctx: C): Promise<void> {
    this.checkLength(text);
    const lines: Array<{ line: string; fields: string[]; cmd: Command<C> }> = [];
    for (const line of text.split('\n')) {
      const fields = tokenize(line);
      if (fields.length === 0) continue;
      lines.push({ line, fields, cmd: this.lookup(fields, line) });
    }
    for (const { line, fields, cmd } of lines) {
      try {
        await cmd.run(fields.slice(1), ctx);
      } catch (e) {
        throw e instanceof CommandError ? cmdError(e.reason, line, e.errno) : e;
      }
    }
  }

  private checkLength(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only a string that may be too long is measured.
    if (text.length <= this.maxBytes / 3) return;
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.maxBytes) throw ctlTooLong(bytes, this.maxBytes);
  }
}
