/**
 * The guest's share policy, for drag-and-drop: the one share vmtoolsd's guest server has, `root`,
 * whose names are absolute guest paths (`root/home/u/file` is `/home/u/file`), but confined to
 * what was granted: directories the host may write into (a drop's staging directory, with a limit
 * on the data written) and files or directories it may read (an offer). Every other name is
 * refused. docs/protocol/hgfs.md, "The guest's shares", says what vmtoolsd does and where we
 * differ.
 */
import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkComponent, isInside, MAX_HOST_PATH, PathRefused, refusalFor } from './paths.js';
import type { Location, ResolveOptions, Share, ShareTable, WriteAccount } from './policy.js';
import { ShareError } from './shares.js';

/** The guest server's one share name (HGFS_SERVER_POLICY_ROOT_SHARE_NAME). */
export const GUEST_ROOT_SHARE = 'root';

/** One granted file or directory. */
export interface Grant {
  /** The real path (symlinks resolved) granted: names must lead to it or below it. */
  readonly path: string;
  /** True for grantRead: nothing under it may be changed. */
  readonly readOnly: boolean;
  /** The limit on the data written under it (grantWrite's maxBytes), or undefined for none. */
  readonly maxBytes: number | undefined;
  /** Data bytes WRITE_V3 put under it so far, and the bytes files grew by without data (holes, SETATTR sizes). */
  readonly bytesWritten: number;
  /** True once revoked. */
  readonly revoked: boolean;
  /** Later requests naming it are refused, and the files and searches open under it are closed. */
  revoke(): void;
}

/** A grant is the unit the server confines to, accounts writes to and closes handles by. */
class GrantedShare implements Share, Grant, WriteAccount {
  readonly name = GUEST_ROOT_SHARE;
  readonly writes: WriteAccount | undefined;
  bytesWritten = 0;
  revoked = false;

  constructor(
    readonly root: string,
    readonly readOnly: boolean,
    readonly maxBytes: number | undefined,
    private readonly onRevoke: (g: GrantedShare) => void,
  ) {
    this.writes = readOnly ? undefined : this;
  }

  get path(): string {
    return this.root;
  }

  get remaining(): number {
    return this.maxBytes === undefined ? Number.POSITIVE_INFINITY : this.maxBytes - this.bytesWritten;
  }

  wrote(bytes: number): void {
    this.bytesWritten += bytes;
  }

  revoke(): void {
    if (this.revoked) return;
    this.revoked = true;
    this.onRevoke(this);
  }
}

function realDirectory(dir: string): string {
  let real: string;
  try {
    real = realpathSync(dir);
    if (!statSync(real).isDirectory()) throw new ShareError(`${dir} is not a directory`);
  } catch (e) {
    if (e instanceof ShareError) throw e;
    throw new ShareError(`${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return real;
}

/**
 * The guest's `root` share, confined to grants. Nothing is served until something is granted;
 * a name outside every grant is ACCESS_DENIED, what the server answers for a name that resolves
 * outside its share.
 */
export class GuestShares implements ShareTable {
  private readonly grantList: GrantedShare[] = [];
  private readonly listeners: ((share: Share) => void)[] = [];
  /** What the virtual root lists: `root`, the guest's `/` (never itself granted by being listed). */
  private readonly rootShare: Share = { name: GUEST_ROOT_SHARE, root: '/', readOnly: true };

  /**
   * Lets the host create, write, rename and delete inside `dir` (an existing directory), the
   * directory itself excepted. With maxBytes, the data WRITE_V3 puts under it is limited: a write
   * that would go past the limit is refused whole with NO_SPACE. Throws ShareError.
   */
  grantWrite(dir: string, opts: { maxBytes?: number } = {}): Grant {
    const { maxBytes } = opts;
    if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0))
      throw new ShareError(`maxBytes must be a whole number of bytes, not ${maxBytes}`);
    return this.add(new GrantedShare(realDirectory(dir), false, maxBytes, (g) => this.revoked(g)));
  }

  /** Lets the host read `path` (a file, or a directory and all below it). Throws ShareError. */
  grantRead(path: string): Grant {
    let real: string;
    try {
      real = realpathSync(path);
    } catch (e) {
      throw new ShareError(`${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return this.add(new GrantedShare(real, true, undefined, (g) => this.revoked(g)));
  }

  /** The grants in force, oldest first. */
  grants(): readonly Grant[] {
    return [...this.grantList];
  }

  /** The share by name: `root`, matched exactly or else case-insensitively, as the guest policy does. */
  get(name: string): Share | undefined {
    return name === GUEST_ROOT_SHARE || name.toLowerCase() === GUEST_ROOT_SHARE ? this.rootShare : undefined;
  }

  list(): readonly Share[] {
    return [this.rootShare];
  }

  onWithdraw(listener: (share: Share) => void): void {
    this.listeners.push(listener);
  }

  /**
   * `root` + components → the absolute guest path they name, served only inside a grant. The
   * name is checked against the grants before anything on disk is looked at, so a refusal says
   * nothing about what exists outside them; then, as for a host share, the parent directory's
   * real path must stay inside the grant and the last component is not followed.
   */
  resolve(components: readonly string[], opts: ResolveOptions = {}): Location {
    if (components.length === 0) return { kind: 'root' };
    const [shareName, ...rest] = components as [string, ...string[]];
    checkComponent(shareName);
    for (const c of rest) checkComponent(c);
    if (!this.get(shareName)) throw new PathRefused('no-share', `no share named "${shareName}"`);
    const named = `/${rest.join('/')}`;
    if (Buffer.byteLength(named) > MAX_HOST_PATH)
      throw new PathRefused('too-long', `${named.slice(0, 40)}…: longer than ${MAX_HOST_PATH} bytes`);
    const grant = this.grantFor(named);
    if (!grant) throw new PathRefused('escape', `${named} is not inside anything granted`);
    if (named === grant.root) return { kind: 'path', share: grant, path: grant.root, shareRoot: true };
    let parent: string;
    try {
      parent = realpathSync(join('/', ...rest.slice(0, -1)));
    } catch (e) {
      throw refusalFor(e, named);
    }
    if (!isInside(grant.root, parent))
      throw new PathRefused('escape', `${named}: its directory is outside the grant ${grant.root}`);
    let path = join(parent, rest[rest.length - 1]!);
    if (opts.followFinal) {
      try {
        path = realpathSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw refusalFor(e, named);
      }
      if (!isInside(grant.root, path))
        throw new PathRefused('escape', `${named}: a symlink to outside the grant ${grant.root}`);
    }
    return { kind: 'path', share: grant, path, shareRoot: false };
  }

  /**
   * The grant a name falls under: a write grant before a read grant (rights add up), the innermost
   * of those, the oldest of equals.
   */
  private grantFor(named: string): GrantedShare | undefined {
    let best: GrantedShare | undefined;
    for (const g of this.grantList) {
      if (!isInside(g.root, named)) continue;
      if (
        !best ||
        (best.readOnly && !g.readOnly) ||
        (best.readOnly === g.readOnly && g.root.length > best.root.length)
      )
        best = g;
    }
    return best;
  }

  private add(g: GrantedShare): Grant {
    this.grantList.push(g);
    return g;
  }

  private revoked(g: GrantedShare): void {
    const i = this.grantList.indexOf(g);
    if (i >= 0) this.grantList.splice(i, 1);
    for (const l of this.listeners) l(g);
  }
}
