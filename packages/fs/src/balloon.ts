/**
 * The Linux balloon driver's own figures: vmw_balloon's debugfs statistics file (its format:
 * docs/protocol/tree.md §19). Sizes are in 4 KiB frames, as the driver counts them.
 * Where the driver is not loaded the reading says so; nothing is reported as 0 that the kernel
 * did not say.
 */
import { readFile, stat } from 'node:fs/promises';

/** Where vmw_balloon puts its statistics (debugfs root, file `vmmemctl`). */
export const BALLOON_STATS_PATH = '/sys/kernel/debug/vmmemctl';
/** Present while the module is loaded (or built in). */
export const BALLOON_MODULE_DIR = '/sys/module/vmw_balloon';
/** The driver's basic page: sizes count 4 KiB frames. */
export const BALLOON_FRAME_BYTES = 4096;

export interface BalloonStats {
  /** Frames the host asks the balloon to hold. */
  target: number;
  /** Frames the balloon holds now. */
  current: number;
  /** Capabilities the host agreed to (`used capabilities`), when the kernel prints them. */
  capabilities?: number;
  /** The driver is resetting its protocol with the host. */
  resetting?: boolean;
  /**
   * Each `NAME: COUNT (N failed)` line: the backdoor commands the driver sent (start, target, lock,
   * batchLock, …) and, on kernels before 4.20, its page allocations (prim4kAlloc, prim2mAlloc).
   */
  ops: Record<string, { count: number; failed: number }>;
  /** Every other counter, by the kernel's name: `timer`, `doorbell`, `alloc(4k)`, `free(2M)`, … */
  counters: Record<string, number>;
}

export type BalloonReading =
  | { state: 'loaded'; stats: BalloonStats }
  /** No vmw_balloon: not a VMware guest, another OS, or the module not loaded. */
  | { state: 'absent' }
  /** Loaded, but its statistics cannot be read (debugfs not mounted, not root): `why` says which. */
  | { state: 'unreadable'; why: string };

/** A debugfs text the parser does not recognise. */
export class BalloonStatsError extends Error {
  override readonly name = 'BalloonStatsError';
}

const LINE = /^\s*([^:]+?)\s*:\s*(.*?)\s*$/;

/**
 * Parses the debugfs text. Each line is `NAME: VALUE`; an op line adds `(N failed)`; sizes may be
 * followed by `pages` (older kernels). `target` and `current` are required.
 */
export function parseBalloonStats(text: string): BalloonStats {
  const ops: BalloonStats['ops'] = {};
  const counters: BalloonStats['counters'] = {};
  let target: number | undefined;
  let current: number | undefined;
  let capabilities: number | undefined;
  let resetting: boolean | undefined;
  for (const raw of text.split('\n')) {
    const m = LINE.exec(raw);
    if (!m) continue;
    // Page counters pad the name before the size: `alloc             (4k)` is `alloc(4k)`.
    const name = m[1]!.replace(/\s+\(/, '(');
    const value = m[2]!;
    if (name === 'is resetting') {
      resetting = value === 'y';
      continue;
    }
    if (name === 'used capabilities') {
      capabilities = Number(value);
      continue;
    }
    if (name === 'balloon capabilities') continue;
    const op = /^(\d+)\s+\(\s*(\d+) failed\)$/.exec(value);
    if (op) {
      ops[name] = { count: Number(op[1]), failed: Number(op[2]) };
      continue;
    }
    const n = /^(\d+)(?:\s+pages)?(?:\/sec)?$/.exec(value);
    if (!n) continue;
    if (name === 'target') target = Number(n[1]);
    else if (name === 'current') current = Number(n[1]);
    else counters[name] = Number(n[1]);
  }
  if (target === undefined || current === undefined)
    throw new BalloonStatsError('no "target" and "current" lines: not vmw_balloon statistics');
  return {
    target,
    current,
    ...(capabilities !== undefined && Number.isFinite(capabilities) ? { capabilities } : {}),
    ...(resetting !== undefined ? { resetting } : {}),
    ops,
    counters,
  };
}

const code = (e: unknown) => (e as NodeJS.ErrnoException)?.code;

/** Reads the driver's statistics at `path`; `moduleDir` tells an absent driver from an unreadable one. */
export async function readBalloon(
  path = BALLOON_STATS_PATH,
  moduleDir = BALLOON_MODULE_DIR,
): Promise<BalloonReading> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const loaded = await stat(moduleDir).then(
      () => true,
      () => false,
    );
    if (!loaded && code(e) === 'ENOENT') return { state: 'absent' };
    if (code(e) === 'EACCES' || code(e) === 'EPERM')
      return { state: 'unreadable', why: `${path}: permission denied (debugfs is root's)` };
    if (code(e) === 'ENOENT')
      return { state: 'unreadable', why: `${path} does not exist: is debugfs mounted at /sys/kernel/debug?` };
    return { state: 'unreadable', why: `${path}: ${(e as Error).message}` };
  }
  return { state: 'loaded', stats: parseBalloonStats(text) };
}

/** Frames as whole MiB, rounded down (the driver's frames are 4 KiB). */
export const framesToMB = (frames: number): number => Math.floor((frames * BALLOON_FRAME_BYTES) / 1048576);
