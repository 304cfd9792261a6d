/**
 * A VMware host's share policy: a table of share name → real directory, each read-write or
 * read-only, as a host's "Shared Folders" settings list them. The server asks it on every request,
 * so adding or removing a share takes effect at once (a real host applies its settings the same
 * way: docs/protocol/hgfs.md, "Server role").
 */
import { realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolveName } from './paths.js';
import type { Location, ResolveOptions, Share, ShareTable } from './policy.js';

/** A host share: a named directory. */
export interface HostShare extends Share {
  /** The directory as it was given. */
  readonly dir: string;
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

/** A VMware host's shared folders: named directories, read-write or read-only. */
export class HostShares implements ShareTable {
  private readonly shares = new Map<string, HostShare>();
  private readonly listeners: ((share: Share) => void)[] = [];

  /** Adds a share; the directory must exist now. Throws ShareError. */
  add(name: string, dir: string, opts: { readOnly?: boolean } = {}): HostShare {
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
    const share: HostShare = { name, dir, root, readOnly: opts.readOnly ?? false };
    this.shares.set(name, share);
    return share;
  }

  /** Removes a share; false if there was none by that name. */
  remove(name: string): boolean {
    const share = this.shares.get(name);
    if (!share) return false;
    this.shares.delete(name);
    for (const l of this.listeners) l(share);
    return true;
  }

  get(name: string): HostShare | undefined {
    return this.shares.get(name);
  }

  /** The shares in the order they were added (the order the virtual root lists them in). */
  list(): HostShare[] {
    return [...this.shares.values()];
  }

  resolve(components: readonly string[], opts?: ResolveOptions): Location {
    return resolveName((name) => this.shares.get(name), components, opts);
  }

  onWithdraw(listener: (share: Share) => void): void {
    this.listeners.push(listener);
  }

  get size(): number {
    return this.shares.size;
  }
}
