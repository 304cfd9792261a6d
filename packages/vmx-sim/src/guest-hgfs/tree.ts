/**
 * Trees of files moved with the guest's HGFS server, in the order a host's file transfer sends
 * them (docs/protocol/dndcp.md, "Host side", Drag and drop): into the guest, each directory
 * CREATE_DIR_V3 and each file OPEN_V3 {WRITE_ONLY, OPEN_CREATE_EMPTY} → WRITE_V3 × n → CLOSE_V3;
 * out of it, GETATTR_V3 of each named item, SEARCH_OPEN/READ/CLOSE_V3 per directory, each file
 * OPEN_V3 {READ_ONLY, OPEN} → READ_V3 until a short read → CLOSE_V3. Directories are walked
 * depth first, entries by name (byte order), so the same tree always gives the same requests.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { componentProblem, HgfsFileType, HgfsOp, HgfsOpenFlags, HgfsOpenMode } from '@vmw9/hgfs';
import type { GuestHgfsSession } from './transport.js';

/** One item of a local tree, relative to the tree's parent (`rel[0]` is the top-level name). */
export interface LocalEntry {
  rel: string[];
  kind: 'dir' | 'file';
  /** Bytes (files). */
  size: number;
  /** Permission bits. */
  mode: number;
  abs: string;
}

/** What a put sends: the entries in order, the top-level names, and their total size. */
export interface LocalTree {
  entries: LocalEntry[];
  /** The last component of each path given (the FILELIST's relative names). */
  top: string[];
  /** The absolute local paths given. */
  paths: string[];
  files: number;
  dirs: number;
  totalBytes: number;
  /** Local items left out: symlinks, devices, sockets (a host drags files and folders). */
  skipped: string[];
}

/** Walks the local paths; throws when one is missing or is not a file or directory. */
export function scanLocal(paths: readonly string[]): LocalTree {
  const tree: LocalTree = { entries: [], top: [], paths: [], files: 0, dirs: 0, totalBytes: 0, skipped: [] };
  const names = new Set<string>();
  for (const p of paths) {
    const abs = resolve(p);
    const st = lstatSync(abs);
    if (!st.isFile() && !st.isDirectory()) throw new Error(`${p} is not a file or a directory`);
    const name = basename(abs);
    if (names.has(name))
      throw new Error(`two items named ${JSON.stringify(name)}: a drop puts them side by side`);
    names.add(name);
    tree.top.push(name);
    tree.paths.push(abs);
    walk(tree, abs, [name]);
  }
  return tree;
}

function walk(tree: LocalTree, abs: string, rel: string[]): void {
  const st = lstatSync(abs);
  if (st.isDirectory()) {
    tree.entries.push({ rel, kind: 'dir', size: 0, mode: st.mode & 0o7777, abs });
    tree.dirs++;
    for (const name of readdirSync(abs).sort(byteOrder)) walk(tree, join(abs, name), [...rel, name]);
  } else if (st.isFile()) {
    tree.entries.push({ rel, kind: 'file', size: st.size, mode: st.mode & 0o7777, abs });
    tree.files++;
    tree.totalBytes += st.size;
  } else tree.skipped.push(abs);
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Where a put or get got to. */
export interface TreeProgress {
  files: number;
  dirs: number;
  bytes: number;
  /** The item just done (its path under the destination). */
  name: string;
}

export interface PutOptions {
  /** After each item (and after each piece of a large file). */
  onProgress?(p: TreeProgress): void;
  /** A host that stops midway: no request after this many data bytes (the put ends as `stopped`). */
  stopAfterBytes?: number;
  /** A host that writes more than it announced: this many more bytes at the end of the last file. */
  extraBytes?: number;
}

/** How a tree transfer ended. */
export interface TreeResult {
  result: 'done' | 'failed' | 'stopped';
  files: number;
  dirs: number;
  bytes: number;
  /** The error that ended a failed transfer (an HgfsStatusError carries op and status). */
  error?: Error;
}

/** WRITE_V3 requests one batch of a file holds (the local file is read a batch at a time). */
const WRITE_BATCH = 8;

/** Writes `tree` under the guest directory `dest` (components, share first). */
export async function putTree(
  s: GuestHgfsSession,
  tree: LocalTree,
  dest: readonly string[],
  o: PutOptions = {},
): Promise<TreeResult> {
  const r: TreeResult = { result: 'done', files: 0, dirs: 0, bytes: 0 };
  const budget = o.stopAfterBytes ?? Number.POSITIVE_INFINITY;
  const last = tree.entries.findLastIndex((e) => e.kind === 'file');
  try {
    for (const [i, e] of tree.entries.entries()) {
      const path = [...dest, ...e.rel];
      if (e.kind === 'dir') {
        await s.client.mkdir(path, e.mode & 0o777);
        r.dirs++;
      } else {
        const file = await s.client.open(path, {
          mode: HgfsOpenMode.WRITE_ONLY,
          flags: HgfsOpenFlags.OPEN_CREATE_EMPTY,
          permissions: e.mode & 0o777,
        });
        let stopped = false;
        try {
          stopped = !(await writeFile(s, file, e, r, budget, i === last ? (o.extraBytes ?? 0) : 0, o));
        } finally {
          // A host that stops leaves its handle open, as one that went away would.
          if (!stopped) await s.client.close(file);
        }
        if (stopped) {
          r.result = 'stopped';
          return r;
        }
        r.files++;
      }
      o.onProgress?.({ files: r.files, dirs: r.dirs, bytes: r.bytes, name: e.rel.join('/') });
      if (r.bytes >= budget) {
        r.result = 'stopped';
        return r;
      }
    }
  } catch (err) {
    r.result = 'failed';
    r.error = err as Error;
  }
  return r;
}

/** One file's data; false when the byte budget ran out first (the host stops there). */
async function writeFile(
  s: GuestHgfsSession,
  file: number,
  e: LocalEntry,
  r: TreeResult,
  budget: number,
  extra: number,
  o: PutOptions,
): Promise<boolean> {
  const fd = openSync(e.abs, 'r');
  try {
    const total = e.size + extra;
    let at = 0;
    while (at < total) {
      const room = budget - r.bytes;
      if (room <= 0) return false;
      // Whole WRITE_V3s per batch, so that every write but a file's last carries a full packet.
      const n = Math.min(s.client.writeChunk * WRITE_BATCH, total - at, room);
      const piece = Buffer.alloc(n);
      const got = at < e.size ? readSync(fd, piece, 0, Math.min(n, e.size - at), at) : 0;
      // The extra bytes past the file's end (a hostile host's) are a recognisable filler.
      if (got < n) piece.fill(0x58, got);
      const written = await s.client.write(file, BigInt(at), piece);
      r.bytes += written;
      at += written;
      if (written < n) throw new Error(`${e.rel.join('/')}: the guest wrote ${written} of ${n} bytes`);
      if (at < total) o.onProgress?.({ files: r.files, dirs: r.dirs, bytes: r.bytes, name: e.rel.join('/') });
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/** READ_V3 requests one file read keeps queued (TCLO delivers them one at a time). */
const READ_WINDOW = 8;

export interface GetOptions {
  onProgress?(p: TreeProgress): void;
}

export interface GetResult extends TreeResult {
  /** Guest items left out: symlinks (not followed, as the guest's server reports them). */
  skipped: string[];
}

/**
 * Reads the guest items `paths` (components, share first) into the local directory `dir`,
 * each under its last component. Local files are created new (an existing name is an error),
 * and every name the guest gives is checked to be one plain component.
 */
export async function getTree(
  s: GuestHgfsSession,
  paths: ReadonlyArray<readonly string[]>,
  dir: string,
  o: GetOptions = {},
): Promise<GetResult> {
  const r: GetResult = { result: 'done', files: 0, dirs: 0, bytes: 0, skipped: [] };
  try {
    for (const p of paths) {
      const name = p.at(-1);
      if (name === undefined || componentProblem(name))
        throw new Error(`no item to read at ${JSON.stringify(p)}`);
      const attr = await s.client.getattr(p);
      await getItem(s, p, attr.type, join(dir, name), name, r, o);
    }
  } catch (err) {
    r.result = 'failed';
    r.error = err as Error;
  }
  return r;
}

async function getItem(
  s: GuestHgfsSession,
  path: readonly string[],
  type: number,
  local: string,
  shown: string,
  r: GetResult,
  o: GetOptions,
): Promise<void> {
  if (type === HgfsFileType.SYMLINK) {
    r.skipped.push(shown);
    return;
  }
  if (type === HgfsFileType.DIRECTORY) {
    mkdirSync(local, { mode: 0o755 });
    r.dirs++;
    o.onProgress?.({ files: r.files, dirs: r.dirs, bytes: r.bytes, name: shown });
    const entries = (await s.client.listDir(path)).sort((a, b) => byteOrder(a.name, b.name));
    for (const e of entries) {
      const problem = componentProblem(e.name);
      if (problem) throw new Error(`the guest listed a name that ${problem}: ${JSON.stringify(e.name)}`);
      await getItem(s, [...path, e.name], e.attr.type, join(local, e.name), `${shown}/${e.name}`, r, o);
    }
    return;
  }
  const file = await s.client.open(path, { mode: HgfsOpenMode.READ_ONLY, flags: HgfsOpenFlags.OPEN });
  try {
    const fd = openSync(local, 'wx', 0o644);
    try {
      // At most packet − header − 13 (HgfsClient.readChunk): one byte more and open-vm-tools'
      // server refuses the read (docs/protocol/hgfs.md, "The host as client of the guest's server").
      const chunk = s.client.readChunk;
      for (let at = 0; ; ) {
        // READ_WINDOW requests queued at once; the file ends at the first short one.
        const starts = Array.from({ length: READ_WINDOW }, (_, i) => at + i * chunk);
        const pieces = await Promise.all(
          starts.map((off) =>
            s.client.request({ op: HgfsOp.READ_V3, file, offset: BigInt(off), requiredSize: chunk }),
          ),
        );
        let short = false;
        for (const p of pieces) {
          if (p.data.length > chunk)
            throw new Error(`READ_V3 of ${shown}: ${p.data.length} bytes for ${chunk} asked`);
          if (p.data.length > 0) writeSync(fd, p.data, 0, p.data.length, at);
          at += p.data.length;
          r.bytes += p.data.length;
          if (p.data.length < chunk) {
            short = true;
            break;
          }
        }
        if (short) break;
        o.onProgress?.({ files: r.files, dirs: r.dirs, bytes: r.bytes, name: shown });
      }
    } finally {
      closeSync(fd);
    }
  } finally {
    await s.client.close(file);
  }
  r.files++;
  o.onProgress?.({ files: r.files, dirs: r.dirs, bytes: r.bytes, name: shown });
}
