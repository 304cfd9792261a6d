/**
 * What drag and drop counts on the guest's disk (docs/protocol/tree.md §18): the regular files
 * and bytes under an offer's paths or a staged drop. Symlinks are counted as themselves, never
 * followed inside a directory (a link out of a folder is not the folder's), as HGFS serves them.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export interface Measure {
  /** Regular files. */
  files: number;
  /** Their bytes. */
  bytes: number;
}

/** The regular files and bytes under `path` (a file counts itself; a directory everything below). */
async function measureOne(path: string, top: boolean, into: Measure): Promise<void> {
  // The named path itself is followed (the user may offer a link); what is below is not.
  const st = top ? await stat(path) : await lstat(path);
  if (st.isFile()) {
    into.files++;
    into.bytes += st.size;
  } else if (st.isDirectory()) {
    for (const name of await readdir(path)) await measureOne(join(path, name), false, into);
  }
}

/** The regular files and bytes under each path, in all. Rejects as stat(2) does for a missing path. */
export async function measure(paths: readonly string[]): Promise<Measure> {
  const m: Measure = { files: 0, bytes: 0 };
  for (const p of paths) await measureOne(p, true, m);
  return m;
}

/** Whether `path` is `dir` or below it (both absolute and resolved). */
export function isUnder(path: string, dir: string): boolean {
  const r = relative(dir, path);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !r.startsWith(sep));
}
