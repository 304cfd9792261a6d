/**
 * What drag and drop counts on the guest's disk (docs/protocol/tree.md §18): the regular files
 * and bytes under an offer's paths or a staged drop. Symlinks are counted as themselves, never
 * followed inside a directory (a link out of a folder is not the folder's), as HGFS serves them.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

/** 9P's "no numeric id" (NONUNAME): a writer whose uid the attach did not say. */
const NO_UID = 0xffffffff;

export interface Measure {
  /** Regular files. */
  files: number;
  /** Their bytes. */
  bytes: number;
}

/** A path the offering user may not read: `code` EACCES, as open(2) says it. */
export class OfferAccessError extends Error {
  readonly code = 'EACCES';
  constructor(
    readonly path: string,
    readonly uid: number,
    what: string,
  ) {
    super(`${path}: ${what} by ${uid === NO_UID ? 'a user of unknown uid' : `uid ${uid}`}`);
    this.name = 'OfferAccessError';
  }
}

/**
 * Whether `uid` has `bits` (4 read, 1 search; `other` positions) on `st` by the mode bits alone
 * (docs/protocol/tree.md §18): the owner's bits when the file is that uid's, else the other bits.
 * Groups are not consulted: a file only the writer's group may read is refused, the safe error.
 */
function permitsByMode(st: Stats, uid: number, bits: number): boolean {
  const shift = uid !== NO_UID && st.uid === uid ? 6 : 0;
  return ((st.mode >> shift) & bits) === bits;
}

/** Every directory from / down to `real`'s parent is searchable by `uid` (mode bits alone). */
async function checkWayTo(real: string, uid: number): Promise<void> {
  const dirs: string[] = [];
  for (let d = dirname(real); ; d = dirname(d)) {
    dirs.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of dirs)
    if (!permitsByMode(await stat(d), uid, 1)) throw new OfferAccessError(d, uid, 'not searchable');
}

/** The regular files and bytes under `path` (a file counts itself; a directory everything below). */
async function measureOne(path: string, top: boolean, into: Measure, reader?: number): Promise<void> {
  // The named path itself is followed (the user may offer a link); what is below is not.
  const st = top ? await stat(path) : await lstat(path);
  // What HGFS serves of it must be the writer's to read: a file's data, a directory's listing and
  // what is below it. A symlink below is served as itself, never followed: nothing to check.
  if (reader !== undefined && !st.isSymbolicLink()) {
    const bits = st.isDirectory() ? 5 : 4;
    if (!permitsByMode(st, reader, bits))
      throw new OfferAccessError(
        path,
        reader,
        st.isDirectory() ? 'not readable and searchable' : 'not readable',
      );
  }
  if (st.isFile()) {
    into.files++;
    into.bytes += st.size;
  } else if (st.isDirectory()) {
    for (const name of await readdir(path)) await measureOne(join(path, name), false, into, reader);
  }
}

/**
 * The regular files and bytes under each path, in all. Rejects as stat(2) does for a missing path.
 * With `readableBy` (a uid, or NONUNAME), also rejects with OfferAccessError unless that uid may
 * read each path and everything under it, and search every directory on the way from /, by the
 * mode bits alone (docs/protocol/tree.md §18). Without it the agent's own access is the check.
 */
export async function measure(paths: readonly string[], readableBy?: number): Promise<Measure> {
  const m: Measure = { files: 0, bytes: 0 };
  for (const p of paths) {
    if (readableBy === undefined) await measureOne(p, true, m);
    else {
      // The real path: the one the host is given, and one the writer could read directly anyway.
      const real = await realpath(p);
      await checkWayTo(real, readableBy);
      await measureOne(real, true, m, readableBy);
    }
  }
  return m;
}

/** Whether `path` is `dir` or below it (both absolute and resolved). */
export function isUnder(path: string, dir: string): boolean {
  const r = relative(dir, path);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !r.startsWith(sep));
}
