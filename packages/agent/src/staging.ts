/**
 * Where files the host drags into the guest land (docs/protocol/tree.md §18, "The staging
 * directory"): one private directory per drop under a root that belongs to the user, never a
 * shared /tmp path another user could take first (open-vm-tools stages under /tmp/VMwareDnD,
 * mode 1777, whose entries are symlinks into the user's cache, as that section says).
 *
 * The root: `[dnd] dir` or `vmw9 agent --dnd-dir`, else `$XDG_RUNTIME_DIR/vmw9/dnd` when that
 * runtime directory is set, ours and not writable by group or others, else
 * `${XDG_CACHE_HOME:-~/.cache}/vmw9/dnd`. Missing components are made 0700; the root must be a real
 * directory (not a symlink) owned by us, and is put back to 0700 if group or others could write
 * it; every existing directory above it must be owned by us or root and, if others can write it,
 * sticky (as /tmp is), so nobody else can swap a component.
 *
 * A drop is staged in `ROOT/.partial.PID.XXXXXX` (mkdtemp, 0700) while the host writes it; a drop
 * that completes is renamed to `ROOT/drop.XXXXXX` (same suffix) and dated now, so a directory
 * named `drop.*` is always whole. A failed or cancelled drop's directory is removed. At start,
 * partial directories of agents no longer running are removed, and complete ones older than
 * `[dnd] keep`; an unref'd timer removes complete ones as they reach that age.
 */
import { chmodSync, lstatSync, mkdirSync, realpathSync, statSync } from 'node:fs';
import { chmod, lstat, mkdtemp, readdir, rename, rm, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

/** A partial drop's directory name: `.partial.PID.XXXXXX` (the agent that made it, mkdtemp's suffix). */
const PARTIAL = /^\.partial\.(\d+)\.([A-Za-z0-9]{6})$/;
/** A complete drop's directory name. */
const COMPLETE = /^drop\.([A-Za-z0-9]{6})$/;

/** setTimeout's longest delay; a longer keep is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The staging root cannot be used: whose it is, its mode, what is wrong, in words a user can act on. */
export class StagingError extends Error {
  override readonly name = 'StagingError';
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`staging directory ${path}: ${reason}`);
  }
}

export interface StagingEnv {
  env?: NodeJS.ProcessEnv;
  uid?: number;
  home?: string;
}

/**
 * The default staging root for this user and why it was chosen: the runtime directory when it is
 * set and safe, else the cache directory (nothing is created).
 */
export function defaultStagingRoot(ctx: StagingEnv = {}): { root: string; why: string } {
  const env = ctx.env ?? process.env;
  const uid = ctx.uid ?? process.getuid?.();
  const runtime = env['XDG_RUNTIME_DIR'];
  let notRuntime = 'XDG_RUNTIME_DIR is not set';
  if (runtime) {
    const unsafe = isAbsolute(runtime) ? runtimeUnsafe(runtime, uid) : 'it is not an absolute path';
    if (!unsafe) return { root: join(runtime, 'vmw9', 'dnd'), why: 'XDG_RUNTIME_DIR' };
    notRuntime = `XDG_RUNTIME_DIR ${runtime} is not used: ${unsafe}`;
  }
  // The XDG base directory rules: a relative XDG_CACHE_HOME is invalid and ignored.
  const cacheEnv = env['XDG_CACHE_HOME'];
  const cache = cacheEnv && isAbsolute(cacheEnv) ? cacheEnv : join(ctx.home ?? homedir(), '.cache');
  return { root: join(cache, 'vmw9', 'dnd'), why: notRuntime };
}

/** Why a runtime directory is not ours to use, or null. */
function runtimeUnsafe(dir: string, uid: number | undefined): string | null {
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) return 'it is not a directory';
    if (uid !== undefined && st.uid !== uid) return `it belongs to uid ${st.uid}`;
    if ((st.mode & 0o022) !== 0) return `group or others may write it (mode ${octal(st.mode)})`;
    return null;
  } catch (e) {
    return `it cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
  }
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Makes the root safe to stage in, or says why it cannot be (StagingError). Synchronous: it runs
 * once, when the agent starts. Returns what it repaired, for the log.
 */
export function prepareStagingRoot(root: string, uid = process.getuid?.()): { repaired?: string } {
  if (!isAbsolute(root)) throw new StagingError(root, 'it must be an absolute path');
  const path = resolve(root);
  // The existing ancestors are checked before anything is made under them.
  let existing = dirname(path);
  const missing: string[] = [];
  for (;;) {
    try {
      lstatSync(existing);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new StagingError(path, `${existing} cannot be read (${(e as NodeJS.ErrnoException).code})`);
      missing.unshift(existing);
      existing = dirname(existing);
    }
  }
  for (let dir = existing; ; dir = dirname(dir)) {
    checkAncestor(path, dir, uid);
    if (dir === dirname(dir)) break;
  }
  for (const dir of [...missing, path]) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new StagingError(path, `cannot make ${dir} (${(e as NodeJS.ErrnoException).code})`);
    }
    // Checked once made: one someone else made first (EEXIST, under a sticky /tmp) is theirs.
    if (dir !== path) {
      if (lstatSync(dir).isSymbolicLink()) throw new StagingError(path, `${dir} is a symbolic link`);
      checkAncestor(path, dir, uid);
    }
  }
  const st = lstatSync(path);
  if (st.isSymbolicLink()) throw new StagingError(path, 'it is a symbolic link; name the real directory');
  if (!st.isDirectory()) throw new StagingError(path, 'it is not a directory');
  if (uid !== undefined && st.uid !== uid)
    throw new StagingError(path, `it belongs to uid ${st.uid}, not to this user (uid ${uid})`);
  if ((st.mode & 0o077) !== 0) {
    // Ours, but others could read or plant files in it: made private again, and said.
    const before = octal(st.mode);
    try {
      chmodSync(path, 0o700);
    } catch (e) {
      throw new StagingError(path, `mode ${before} and cannot be made 0700 (${(e as Error).message})`);
    }
    return { repaired: `mode ${before} made 0700` };
  }
  return {};
}

/** An existing directory above the root: ours or root's, and sticky if others may write it. */
function checkAncestor(root: string, dir: string, uid: number | undefined): void {
  let st: ReturnType<typeof statSync>;
  try {
    // Followed: /var/run → /run is fine; what matters is who controls the directory it leads to.
    st = statSync(dir);
  } catch (e) {
    throw new StagingError(root, `${dir} cannot be read (${(e as NodeJS.ErrnoException).code})`);
  }
  if (!st.isDirectory()) throw new StagingError(root, `${dir} is not a directory`);
  if (uid !== undefined && st.uid !== uid && st.uid !== 0)
    throw new StagingError(root, `${dir} belongs to uid ${st.uid}, who could replace what is under it`);
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0)
    throw new StagingError(
      root,
      `${dir} (mode ${octal(st.mode)}) may be written by others and is not sticky: anyone could replace what is under it`,
    );
}

/** The timer the staging area expires drops with (tests inject one). */
export interface StagingTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: StagingTimers = {
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    // Waiting to clean up never keeps the agent's process alive.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface StagingAreaOptions {
  /** The prepared root (prepareStagingRoot); symlinks on the way are resolved. */
  root: string;
  /** How long a complete drop is kept (ms); 0 keeps drops until the user removes them. */
  keepMs: number;
  now?: () => number;
  timers?: StagingTimers;
  /** This agent's process id (partial directories carry it). */
  pid?: number;
  /** Whether a process runs (partial directories of running agents are not removed). */
  alive?: (pid: number) => boolean;
  /** What was removed and why, and cleanup failures. */
  log?: (msg: string, fields: Record<string, unknown>) => void;
}

/** Whether process `pid` exists (a signal 0 probe: EPERM means it does, someone else's). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class StagingArea {
  readonly root: string;
  private readonly keepMs: number;
  private readonly now: () => number;
  private readonly timers: StagingTimers;
  private readonly pid: number;
  private readonly alive: (pid: number) => boolean;
  private readonly log: (msg: string, fields: Record<string, unknown>) => void;
  private timer: unknown;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(opts: StagingAreaOptions) {
    // The real path: the host is given each drop's directory by name, and the guest HGFS server
    // serves names only where they really lead (a symlink on the way would be refused).
    this.root = realpathSync(resolve(opts.root));
    this.keepMs = opts.keepMs;
    this.now = opts.now ?? Date.now;
    this.timers = opts.timers ?? nodeTimers;
    this.pid = opts.pid ?? process.pid;
    this.alive = opts.alive ?? processAlive;
    this.log = opts.log ?? (() => undefined);
  }

  /** A new, empty, private directory for one drop while the host writes it: its absolute path. */
  async create(_dropId: number): Promise<string> {
    const prefix = join(this.root, `.partial.${this.pid}.`);
    try {
      return await mkdtemp(prefix);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    // The root went (a cache cleaner, the user): made again as at start, with the same checks
    // (it throws StagingError when it cannot be), so later drops do not all fail.
    prepareStagingRoot(this.root);
    this.log('the staging directory was gone and is made again', { dir: this.root });
    return mkdtemp(prefix);
  }

  /** Removes a drop's directory and everything in it (a failed or cancelled drop). */
  async discard(dir: string): Promise<void> {
    this.own(dir);
    await removeDrop(dir);
  }

  /**
   * The drop is whole: its directory is renamed `drop.XXXXXX`, dated now (its age for `keep`
   * counts from here), and set to expire. Returns the new path.
   */
  async complete(dir: string): Promise<string> {
    const m = PARTIAL.exec(this.own(dir));
    if (!m) throw new StagingError(dir, 'not a partial drop directory of this staging area');
    const done = join(this.root, `drop.${m[2]}`);
    await rename(dir, done);
    const t = this.now() / 1000;
    await utimes(done, t, t);
    this.schedule(this.now() + this.keepMs);
    return done;
  }

  /**
   * Removes what no one will use: partial drops of agents that are not running (`all`: every
   * partial drop, ours included; only at start, before any drop) and complete drops older than
   * `keep`; sets the timer for the next one to expire. Never throws: a failure is logged.
   */
  async cleanup(opts: { partial?: 'dead' | 'none' } = {}): Promise<{ removed: string[] }> {
    const removed: string[] = [];
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (e) {
      this.log('cannot list the staging directory', { dir: this.root, err: (e as Error).message });
      return { removed };
    }
    const now = this.now();
    let next = Number.POSITIVE_INFINITY;
    for (const name of names) {
      const path = join(this.root, name);
      const partial = PARTIAL.exec(name);
      let why: string | undefined;
      if (partial) {
        const pid = Number(partial[1]);
        if ((opts.partial ?? 'dead') === 'dead' && pid !== this.pid && !this.alive(pid))
          why = 'an incomplete drop of an agent that is no longer running';
      } else if (COMPLETE.test(name) && this.keepMs > 0) {
        let st: Awaited<ReturnType<typeof lstat>>;
        try {
          st = await lstat(path);
        } catch {
          continue;
        }
        if (!st.isDirectory()) continue;
        const expires = st.mtimeMs + this.keepMs;
        if (expires <= now) why = 'a drop older than [dnd] keep';
        else next = Math.min(next, expires);
      }
      if (!why) continue;
      try {
        await removeDrop(path);
        removed.push(path);
        this.log('removed a staged drop', { dir: path, why });
      } catch (e) {
        this.log('cannot remove a staged drop', { dir: path, err: (e as Error).message });
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.schedule(next);
    return { removed };
  }

  /** Stops the timer; nothing is removed after this. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves when a cleanup the timer started has finished. */
  async settled(): Promise<void> {
    await this.sweeping;
  }

  /** When the timer fires next (ms since the epoch), or Infinity. */
  get nextCleanup(): number {
    return this.timerAt;
  }

  /** Runs cleanup at `at` (the earliest asked for wins). */
  private schedule(at: number): void {
    if (this.stopped || this.keepMs <= 0 || at >= this.timerAt) return;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.timers.setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        // Ages are the directories' own: a timer that fired early (or a capped delay) only
        // removes what has expired, and sets itself for the rest.
        this.sweeping = this.cleanup({ partial: 'none' });
      },
      Math.min(MAX_TIMER_MS, Math.max(0, at - this.now())),
    );
  }

  /** `dir` is directly in the root: its name (anything else is refused, never removed). */
  private own(dir: string): string {
    const p = resolve(dir);
    if (dirname(p) !== this.root) throw new StagingError(dir, `not a drop directory of ${this.root}`);
    return basename(p);
  }
}

/**
 * Removes a drop's directory and all in it. The host chose the modes of what it made (CREATE_DIR_V3,
 * SETATTR_V3): a directory it left without its owner's write or search bit cannot be emptied by a
 * user who is not root, so when the removal is refused, every directory below is given back to its
 * owner (0700; symlinks are never followed) and the removal tried again.
 */
async function removeDrop(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw e;
  }
  await reopenDirs(dir);
  await rm(dir, { recursive: true, force: true });
}

async function reopenDirs(dir: string): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) return;
  await chmod(dir, 0o700).catch(() => undefined);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) await reopenDirs(join(dir, name));
}

/** Whether a path is a complete drop's directory of some staging root (by its name). */
export function isCompleteDrop(path: string): boolean {
  return COMPLETE.test(basename(path));
}
