/**
 * The drag-and-drop staging area: which root it picks, what it refuses or repairs, the private
 * directory per drop, the rename that marks a drop whole, and the cleanup at start and by timer
 * (an injected clock and timer: no wall-clock waits).
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  defaultStagingRoot,
  prepareStagingRoot,
  StagingArea,
  StagingError,
  type StagingTimers,
} from '../src/staging.js';
import { tempDir } from './helpers.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = tempDir();
  made.push(d);
  return d;
}

const uid = process.getuid!();
const mode = (p: string) => statSync(p).mode & 0o7777;

describe('the default staging root', () => {
  it('is $XDG_RUNTIME_DIR/vmw9/dnd when that directory is ours and private', () => {
    const run = dir();
    chmodSync(run, 0o700);
    expect(defaultStagingRoot({ env: { XDG_RUNTIME_DIR: run }, uid, home: '/h' })).toEqual({
      root: join(run, 'vmw9', 'dnd'),
      why: 'XDG_RUNTIME_DIR',
    });
  });

  it('is the cache directory when the runtime directory is writable by others, not ours, or unset', () => {
    const run = dir();
    chmodSync(run, 0o777);
    const open = defaultStagingRoot({ env: { XDG_RUNTIME_DIR: run, XDG_CACHE_HOME: '/c' }, uid });
    expect(open.root).toBe('/c/vmw9/dnd');
    expect(open.why).toMatch(/group or others may write it \(mode 0777\)/);
    chmodSync(run, 0o700);
    const theirs = defaultStagingRoot({
      env: { XDG_RUNTIME_DIR: run, XDG_CACHE_HOME: '/c' },
      uid: uid + 4242,
    });
    expect(theirs.root).toBe('/c/vmw9/dnd');
    expect(theirs.why).toMatch(/belongs to uid/);
    const unset = defaultStagingRoot({ env: { XDG_CACHE_HOME: '/c' }, uid });
    expect(unset).toEqual({ root: '/c/vmw9/dnd', why: 'XDG_RUNTIME_DIR is not set' });
  });

  it('is ~/.cache/vmw9/dnd without XDG_CACHE_HOME, or with a relative one (invalid by the XDG rules)', () => {
    expect(defaultStagingRoot({ env: {}, uid, home: '/home/u' }).root).toBe('/home/u/.cache/vmw9/dnd');
    expect(defaultStagingRoot({ env: { XDG_CACHE_HOME: 'rel' }, uid, home: '/home/u' }).root).toBe(
      '/home/u/.cache/vmw9/dnd',
    );
  });
});

describe('preparing the root', () => {
  it('makes every missing component 0700', () => {
    const base = dir();
    const root = join(base, 'a', 'vmw9', 'dnd');
    expect(prepareStagingRoot(root, uid)).toEqual({});
    for (const p of [join(base, 'a'), join(base, 'a', 'vmw9'), root]) expect(mode(p)).toBe(0o700);
  });

  it('repairs a root of ours that group or others could write, and says so', () => {
    const root = join(dir(), 'dnd');
    mkdirSync(root);
    chmodSync(root, 0o777);
    expect(prepareStagingRoot(root, uid)).toEqual({ repaired: 'mode 0777 made 0700' });
    expect(mode(root)).toBe(0o700);
  });

  it('refuses a root that is not ours, a symlink, a file, or a relative path', () => {
    const base = dir();
    const root = join(base, 'dnd');
    mkdirSync(root, { mode: 0o700 });
    // Another user's directory: the root belongs to this process's uid, which is not the one asked for.
    expect(() => prepareStagingRoot(root, uid + 4242)).toThrow(/belongs to uid \d+, not to this user/);
    const link = join(base, 'link');
    symlinkSync(root, link);
    expect(() => prepareStagingRoot(link, uid)).toThrow(/symbolic link/);
    writeFileSync(join(base, 'file'), '');
    expect(() => prepareStagingRoot(join(base, 'file'), uid)).toThrow(/not a directory/);
    expect(() => prepareStagingRoot('rel/dnd', uid)).toThrow(StagingError);
  });

  it('refuses a root under a directory others may write that is not sticky; a sticky one (/tmp) is fine', () => {
    const base = dir();
    const open = join(base, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => prepareStagingRoot(join(open, 'vmw9', 'dnd'), uid)).toThrow(
      /open \(mode 0777\) may be written by others and is not sticky/,
    );
    // Nothing was made under it.
    expect(readdirSync(open)).toEqual([]);
    chmodSync(open, 0o1777);
    prepareStagingRoot(join(open, 'vmw9', 'dnd'), uid);
    expect(mode(join(open, 'vmw9', 'dnd'))).toBe(0o700);
  });

  it.skipIf(uid !== 0)('refuses a root under a directory another user owns', () => {
    const theirs = join(dir(), 'theirs');
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(theirs, 4242, 4242);
    expect(() => prepareStagingRoot(join(theirs, 'dnd'), uid)).toThrow(/belongs to uid 4242/);
  });
});

/** A timer the test fires by hand. */
function manualTimers() {
  const pending: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
  const timers: StagingTimers = {
    setTimeout(fn, ms) {
      const t = { fn, ms, cleared: false };
      pending.push(t);
      return t;
    },
    clearTimeout(h) {
      (h as { cleared: boolean }).cleared = true;
    },
  };
  const live = () => pending.filter((t) => !t.cleared);
  const fire = () => {
    const t = live().at(-1)!;
    t.cleared = true;
    t.fn();
  };
  return { timers, live, fire };
}

const HOUR = 3_600_000;

function area(root: string, opts: { now: { t: number }; keepMs?: number; alive?: (pid: number) => boolean }) {
  const t = manualTimers();
  const log: Array<[string, Record<string, unknown>]> = [];
  const a = new StagingArea({
    root,
    keepMs: opts.keepMs ?? 24 * HOUR,
    now: () => opts.now.t,
    timers: t.timers,
    pid: 1000,
    alive: opts.alive ?? (() => false),
    log: (m, f) => log.push([m, f]),
  });
  return { a, ...t, log };
}

/** Makes a directory as if staged at time `t` (its mtime). */
function stagedAt(root: string, name: string, t: number): string {
  const p = join(root, name);
  mkdirSync(p, { mode: 0o700 });
  writeFileSync(join(p, 'f'), 'x');
  utimesSync(p, t / 1000, t / 1000);
  return p;
}

describe('the staging area', () => {
  it('gives each drop its own private directory, renamed drop.* once whole and dated then', async () => {
    const root = dir();
    const now = { t: 1_700_000_000_000 };
    const { a, live } = area(root, { now });
    const one = await a.create(1);
    const two = await a.create(2);
    expect(one).not.toBe(two);
    expect(one).toMatch(new RegExp(`^${root}/\\.partial\\.1000\\.[A-Za-z0-9]{6}$`));
    expect(mode(one)).toBe(0o700);
    writeFileSync(join(one, 'a.txt'), 'hello');
    now.t += 5000;
    const done = await a.complete(one);
    expect(done).toBe(join(root, `drop.${one.slice(-6)}`));
    expect(existsSync(one)).toBe(false);
    expect(statSync(done).mtimeMs).toBe(now.t);
    expect(mode(done)).toBe(0o700);
    // Its expiry is timed from now.
    expect(a.nextCleanup).toBe(now.t + 24 * HOUR);
    expect(live().map((x) => x.ms)).toEqual([24 * HOUR]);
    await a.discard(two);
    expect(existsSync(two)).toBe(false);
  });

  it('never removes or renames anything outside its root', async () => {
    const root = dir();
    const other = dir();
    const victim = join(other, '.partial.1000.abcdef');
    mkdirSync(victim);
    const { a } = area(root, { now: { t: 0 } });
    await expect(a.discard(victim)).rejects.toThrow(/not a drop directory of/);
    await expect(a.discard(join(root, '..', 'x'))).rejects.toThrow(StagingError);
    await expect(a.complete(victim)).rejects.toThrow(StagingError);
    expect(existsSync(victim)).toBe(true);
  });

  it('at start removes partial drops of agents not running and drops older than keep, nothing else', async () => {
    const root = dir();
    const now = { t: 100 * HOUR };
    const deadPartial = stagedAt(root, '.partial.77.aaaaaa', now.t);
    const livePartial = stagedAt(root, '.partial.88.bbbbbb', now.t);
    const old = stagedAt(root, 'drop.cccccc', now.t - 25 * HOUR);
    const recent = stagedAt(root, 'drop.dddddd', now.t - 2 * HOUR);
    const userDir = stagedAt(root, 'mine', 0);
    writeFileSync(join(root, 'drop.eeeeee'), 'a file, not a drop');
    const { a, live, log } = area(root, { now, alive: (pid) => pid === 88 });
    const { removed } = await a.cleanup();
    expect(removed.sort()).toEqual([deadPartial, old].sort());
    for (const p of [livePartial, recent, userDir, join(root, 'drop.eeeeee')])
      expect(existsSync(p)).toBe(true);
    expect(log.map(([, f]) => f['why'])).toEqual(
      expect.arrayContaining([
        'an incomplete drop of an agent that is no longer running',
        'a drop older than [dnd] keep',
      ]),
    );
    // The timer is set for the recent drop's 24 h.
    expect(a.nextCleanup).toBe(now.t + 22 * HOUR);
    expect(live()).toHaveLength(1);
  });

  it('the timer removes a drop when it reaches keep, then waits for the next', async () => {
    const root = dir();
    const now = { t: 1000 * HOUR };
    const { a, fire, live } = area(root, { now, keepMs: HOUR });
    const first = await a.complete(await a.create(1));
    now.t += HOUR / 2;
    const second = await a.complete(await a.create(2));
    expect(a.nextCleanup).toBe(now.t + HOUR / 2);
    now.t += HOUR / 2;
    fire();
    await a.settled();
    expect(existsSync(first)).toBe(false);
    expect(existsSync(second)).toBe(true);
    expect(a.nextCleanup).toBe(now.t + HOUR / 2);
    now.t += HOUR / 2;
    fire();
    await a.settled();
    expect(existsSync(second)).toBe(false);
    expect(live()).toHaveLength(0);
    expect(a.nextCleanup).toBe(Number.POSITIVE_INFINITY);
  });

  it('a timer that fires early waits again instead of removing a drop too young', async () => {
    const root = dir();
    const now = { t: 10 * HOUR };
    const { a, fire, live } = area(root, { now, keepMs: HOUR });
    const d = await a.complete(await a.create(1));
    fire();
    await a.settled();
    expect(existsSync(d)).toBe(true);
    expect(live()).toHaveLength(1);
  });

  it('keep 0 keeps every drop: no timer, no removal; partial drops of dead agents still go', async () => {
    const root = dir();
    const now = { t: 1000 * HOUR };
    const old = stagedAt(root, 'drop.ffffff', 0);
    const dead = stagedAt(root, '.partial.5.gggggg', 0);
    const { a, live } = area(root, { now, keepMs: 0 });
    await a.complete(await a.create(1));
    expect((await a.cleanup()).removed).toEqual([dead]);
    expect(existsSync(old)).toBe(true);
    expect(live()).toHaveLength(0);
  });

  it('after stop no timer is set and the pending one is cleared', async () => {
    const root = dir();
    const { a, live } = area(root, { now: { t: 0 } });
    await a.complete(await a.create(1));
    expect(live()).toHaveLength(1);
    a.stop();
    expect(live()).toHaveLength(0);
    await a.complete(await a.create(2));
    expect(live()).toHaveLength(0);
  });
});
