/**
 * The simulated host's shared folders: a table of share name → real directory, each read-write or
 * read-only, as a VMware host's "Shared Folders" settings list them. The HGFS server looks shares
 * up here on every request, so adding or removing one takes effect at once (a real host applies
 * its settings the same way: docs/protocol/hgfs.md, "Host side").
 */
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

export interface Share {
  /** The name the guest sees: the first component of every HGFS path, `.host:/NAME` to vmhgfs-fuse. */
  readonly name: string;
  /** The directory as it was given. */
  readonly dir: string;
  /** Its real path (symlinks resolved) when the share was added: the confinement root. */
  readonly root: string;
  /** True: the guest may read but never change anything in it. */
  readonly readOnly: boolean;
}

/** A share that cannot be added: a bad name, a missing directory, a name already taken. */
export class ShareError extends Error {
  override readonly name = 'ShareError';
}

/** Longest share name, in UTF-8 bytes (one path component on the hosts and guests HGFS serves). */
export const MAX_SHARE_NAME_BYTES = 255;

/**
 * Characters a share name may not contain: `/` and NUL cannot be in a path component, and a share
 * name is a directory name on every guest, Windows included, so Windows' reserved characters and
 * control characters are refused too. `=` and `:` are also what `NAME=DIR[:ro]` is split on.
 */
const BAD_NAME_CHAR = /[\u0000-\u001f\u007f/\\:*?"<>|=]/u;

/** Checks a share name; throws ShareError saying what is wrong with it. */
export function checkShareName(name: string): void {
  if (name.length === 0) throw new ShareError('a share name cannot be empty');
  if (name === '.' || name === '..') throw new ShareError(`"${name}" cannot be a share name`);
  const bad = BAD_NAME_CHAR.exec(name);
  if (bad)
    throw new ShareError(
      `share name "${name}" contains ${JSON.stringify(bad[0])}; names may not contain / \\ : * ? " < > | = or control characters`,
    );
  if (name.trim() !== name) throw new ShareError(`share name "${name}" begins or ends with white space`);
  if (Buffer.byteLength(name, 'utf8') > MAX_SHARE_NAME_BYTES)
    throw new ShareError(`share name "${name.slice(0, 20)}…" is longer than ${MAX_SHARE_NAME_BYTES} bytes`);
}

export interface ShareSpec {
  name: string;
  dir: string;
  readOnly: boolean;
}

/** Parses `NAME=DIR`, `NAME=DIR:ro` or `NAME=DIR:rw` (the `vmw9 sim --share` form). */
export function parseShareSpec(spec: string): ShareSpec {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new ShareError(`a share is NAME=DIR or NAME=DIR:ro, got "${spec}"`);
  const name = spec.slice(0, eq);
  let dir = spec.slice(eq + 1);
  let readOnly = false;
  const mode = /:(ro|rw)$/.exec(dir);
  if (mode) {
    readOnly = mode[1] === 'ro';
    dir = dir.slice(0, -3);
  }
  checkShareName(name);
  if (!dir) throw new ShareError(`share "${name}" names no directory`);
  return { name, dir, readOnly };
}

export class ShareTable {
  private readonly shares = new Map<string, Share>();

  /** Called after a share is removed (the server then forgets what the guest had open in it). */
  constructor(private readonly onRemove: (share: Share) => void = () => {}) {}

  /** Adds a share; the directory must exist now. Throws ShareError. */
  add(name: string, dir: string, opts: { readOnly?: boolean } = {}): Share {
    checkShareName(name);
    if (this.shares.has(name)) throw new ShareError(`share "${name}" exists (remove it first)`);
    let root: string;
    try {
      if (!statSync(dir).isDirectory()) throw new ShareError(`share "${name}": ${dir} is not a directory`);
      root = realpathSync(resolve(dir));
    } catch (e) {
      if (e instanceof ShareError) throw e;
      throw new ShareError(
        `share "${name}": ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const share: Share = { name, dir, root, readOnly: opts.readOnly ?? false };
    this.shares.set(name, share);
    return share;
  }

  /** Removes a share; false if there was none by that name. */
  remove(name: string): boolean {
    const share = this.shares.get(name);
    if (!share) return false;
    this.shares.delete(name);
    this.onRemove(share);
    return true;
  }

  get(name: string): Share | undefined {
    return this.shares.get(name);
  }

  /** The shares in the order they were added (the order the virtual root lists them in). */
  list(): Share[] {
    return [...this.shares.values()];
  }

  get size(): number {
    return this.shares.size;
  }
}
