/**
 * The lib9p-like file tree a server serves: directories and files with overridable handlers
 * (open/read/write/clunk/setattr for files; lookup/list/create/remove/rename for directories)
 * and per-fid state. The server speaks all three dialects over the same tree: Plan 9 stat for
 * 9P2000/.u and Linux getattr for .L are both derived from a node's fields.
 */
import { DMAPPEND, DMDIR, DMEXCL, DMSYMLINK, NONUNAME, OREAD, QTDIR } from './constants.js';
import { Errno, p9err } from './errors.js';
import type { MessageFields, Qid } from './messages.js';

/**
 * Hands out a tree's qid paths: each one once, so a removed-then-recreated file never reuses one.
 * A tree's root owns the allocator its nodes draw from; nothing is shared between trees.
 */
export class QidAllocator {
  private last = 0n;
  next(): bigint {
    this.last += 1n;
    return this.last;
  }
}

/** Who is asking: the attach's user, inherited by every fid walked from it. */
export interface User {
  uname: string;
  /** Numeric uid from .u/.L attach (NONUNAME when unknown). */
  nUname: number;
}

/** How a fid was opened, independent of the dialect. */
export interface OpenMode {
  /** OREAD 0, OWRITE 1, ORDWR 2, OEXEC 3. */
  access: number;
  truncate: boolean;
  /** Remove the file when the fid is clunked (ORCLOSE). */
  removeOnClose: boolean;
}

/** Per-fid state the handlers see. `aux` is theirs to use (lib9p's fid->aux). */
export interface FidContext {
  readonly user: User;
  readonly mode: OpenMode | null;
  aux: unknown;
}

/** Attribute changes from Twstat (9P2000/.u) or Tsetattr (.L); absent = don't touch. */
export interface AttrChanges {
  mode?: number;
  length?: number;
  atime?: number;
  mtime?: number;
  uid?: string | number;
  gid?: string | number;
  /** Twstat may rename in place. */
  name?: string;
}

export type MaybePromise<T> = T | Promise<T>;

/** Figures for Tstatfs (`df`); absent fields keep the server's defaults. */
export type StatfsFigures = Partial<Omit<MessageFields['Rstatfs'], 'type'>>;

/** A file or directory. Times are seconds since the epoch. */
export abstract class Node {
  parent: Dir | undefined;
  version = 0;
  atime: number;
  mtime: number;
  muid: string;
  /** Numeric ids for .L/.u (0 by default: files look root-owned to Linux). */
  nUid = 0;
  nGid = 0;

  constructor(
    public name: string,
    /** Plan 9 mode: DM* bits and permissions. */
    public mode: number,
    public uid = 'none',
    public gid = uid,
  ) {
    this.atime = this.mtime = Math.floor(Date.now() / 1000);
    this.muid = uid;
  }

  private assignedQidPath: bigint | undefined;
  /** Made when this node is a tree's root (or alone) and some node below asks for a qid path. */
  private ownQids: QidAllocator | undefined;

  /**
   * qid.path: drawn from the tree's allocator the first time it is asked for, then the node's for
   * life (moves and renames keep it). A node proxying another file system may override this getter
   * to give that system's own stable ids.
   */
  get qidPath(): bigint {
    this.assignedQidPath ??= this.qids.next();
    return this.assignedQidPath;
  }
  /** The allocator of the tree this node is in: its root's. */
  get qids(): QidAllocator {
    if (this.parent) return this.parent.qids;
    this.ownQids ??= new QidAllocator();
    return this.ownQids;
  }

  get isDir(): boolean {
    return (this.mode & DMDIR) !== 0;
  }
  get qid(): Qid {
    return { type: (this.mode >>> 24) & 0xff, version: this.version, path: this.qidPath };
  }
  /** Length in bytes reported by stat/getattr (0 for directories and synthetic files). */
  get length(): number {
    return 0;
  }
  /** The 9P2000.u stat `extension`: a symlink's target; '' for everything else. */
  get extension(): string {
    return '';
  }

  /**
   * Called before Tstat and Tgetattr answer from the node's fields: a node proxying another file
   * system brings them up to date here (synthetic nodes have nothing to do).
   */
  refresh(_fid: FidContext): MaybePromise<void> {}

  /**
   * Tstatfs: the figures of the file system this node is in, or undefined to ask its parent (and,
   * at the top, the server's `statfs` option). A proxy's root answers for everything below it.
   */
  statfs(_fid: FidContext): MaybePromise<StatfsFigures | undefined> {
    return undefined;
  }

  /** Tfsync: make what was written through `fid` durable. Synthetic nodes keep nothing to flush. */
  fsync(_fid: FidContext, _dataOnly: boolean): MaybePromise<void> {}
  /** Records a modification: bumps qid.version and mtime. */
  touch(user?: User): void {
    this.version = (this.version + 1) >>> 0;
    this.mtime = Math.floor(Date.now() / 1000);
    if (user) this.muid = user.uname;
  }

  /** Called on Topen/Tlopen/Tcreate once permissions are checked; may set `fid.aux`. */
  open(_fid: FidContext, _mode: OpenMode): MaybePromise<void> {}
  /** Called when an open (or walked) fid is clunked. */
  clunk(_fid: FidContext): MaybePromise<void> {}

  /**
   * Twstat / Tsetattr. The default accepts what clients send to synthetic files without meaning
   * harm (times, truncation to 0, no-op syncs) and refuses the rest with EPERM.
   */
  setattr(changes: AttrChanges, _fid: FidContext): MaybePromise<void> {
    if (changes.mode !== undefined || changes.uid !== undefined || changes.gid !== undefined) {
      throw p9err(Errno.EPERM, 'wstat prohibited');
    }
    if (changes.name !== undefined && changes.name !== this.name) {
      if (!this.parent) throw p9err(Errno.EPERM, 'wstat prohibited');
      return this.parent.rename(this, this.parent, changes.name, _fid);
    }
    if (changes.length !== undefined && changes.length !== 0) throw p9err(Errno.EPERM, 'wstat prohibited');
    if (changes.atime !== undefined) this.atime = changes.atime;
    if (changes.mtime !== undefined) this.mtime = changes.mtime;
  }
}

/** A file. Subclasses override read/write (and open/clunk for per-fid state). */
export class File extends Node {
  constructor(name: string, mode = 0o644, uid?: string, gid?: string) {
    super(name, mode & ~DMDIR, uid, gid);
  }
  /** Data at `offset`, at most `count` bytes; an empty result is EOF. May block until `signal` aborts. */
  read(_fid: FidContext, _offset: number, _count: number, _signal: AbortSignal): MaybePromise<Uint8Array> {
    return new Uint8Array(0);
  }
  /** Accepts data at `offset` (ignored for append-only files); returns the count accepted. */
  write(_fid: FidContext, _offset: number, _data: Uint8Array, _signal: AbortSignal): MaybePromise<number> {
    throw p9err(Errno.EPERM, 'permission denied');
  }
  get appendOnly(): boolean {
    return (this.mode & DMAPPEND) !== 0;
  }
  get exclusive(): boolean {
    return (this.mode & DMEXCL) !== 0;
  }
}

/**
 * A symbolic link: its target is what Treadlink (.L) and the stat extension (.u) carry. A
 * 9P2000 client, which has no symlinks, sees a file whose contents are the target.
 */
export class Symlink extends File {
  constructor(
    name: string,
    /** The target, exactly as it was given: any text, never resolved by the server. */
    public target: string,
    uid?: string,
    gid?: string,
  ) {
    super(name, 0o777, uid, gid);
    this.mode = (DMSYMLINK | 0o777) >>> 0;
  }
  /** Treadlink: the target (a proxy may fetch it from its file system). */
  readlink(_fid: FidContext): MaybePromise<string> {
    return this.target;
  }
  override get extension(): string {
    return this.target;
  }
  override get length(): number {
    return Buffer.byteLength(this.target);
  }
  override read(_fid: FidContext, offset: number, count: number): MaybePromise<Uint8Array> {
    const data = Buffer.from(this.target);
    return data.subarray(Math.min(offset, data.length), Math.min(offset + count, data.length));
  }
}

/** A directory holding its children in a map. Creation, removal and rename are refused by default. */
export class Dir extends Node {
  readonly children = new Map<string, Node>();

  constructor(name: string, mode = 0o755, uid?: string, gid?: string) {
    super(name, (mode | DMDIR) >>> 0, uid, gid);
  }

  /** Adds a child (replacing none: a name in use is EEXIST). Returns it, for chaining. */
  add<T extends Node>(child: T): T {
    if (this.children.has(child.name)) throw p9err(Errno.EEXIST);
    child.parent = this;
    this.children.set(child.name, child);
    return child;
  }
  lookup(name: string, _fid: FidContext): MaybePromise<Node | undefined> {
    return this.children.get(name);
  }
  /** The entries a directory read returns, in order (never `.`/`..`). */
  list(_fid: FidContext): MaybePromise<Node[]> {
    return [...this.children.values()];
  }
  /** Tcreate/Tlcreate/Tmkdir: `perm` has DMDIR for directories. */
  create(_name: string, _perm: number, _fid: FidContext): MaybePromise<Node> {
    throw p9err(Errno.EPERM, 'create prohibited');
  }
  /** Tsymlink (.L), or Tcreate with DMSYMLINK and the target in `extension` (.u). */
  symlink(_name: string, _target: string, _fid: FidContext): MaybePromise<Node> {
    throw p9err(Errno.EPERM, 'symlink prohibited');
  }
  remove(_child: Node, _fid: FidContext): MaybePromise<void> {
    throw p9err(Errno.EPERM, 'remove prohibited');
  }
  rename(_child: Node, _to: Dir, _newName: string, _fid: FidContext): MaybePromise<void> {
    throw p9err(Errno.EPERM, 'rename prohibited');
  }

  /** Helpers for subclasses that allow changes: the map bookkeeping with the usual errors. */
  protected detach(child: Node): void {
    if (child instanceof Dir && child.children.size > 0) throw p9err(Errno.ENOTEMPTY);
    this.children.delete(child.name);
    child.parent = undefined;
    this.touch();
  }
  protected move(child: Node, to: Dir, newName: string): void {
    const existing = to.children.get(newName);
    if (existing === child) return;
    if (existing) {
      if (existing.isDir !== child.isDir) throw p9err(existing.isDir ? Errno.EISDIR : Errno.ENOTDIR);
      if (existing instanceof Dir && existing.children.size > 0) throw p9err(Errno.ENOTEMPTY);
    }
    for (let d: Dir | undefined = to; d; d = d.parent) {
      if (d === child) throw p9err(Errno.EINVAL, 'cannot move a directory into itself');
    }
    if (existing) to.children.delete(newName);
    this.children.delete(child.name);
    child.name = newName;
    child.parent = to;
    to.children.set(newName, child);
    this.touch();
    to.touch();
  }
}

/** Plan 9 permission check: owner bits for the owner, group bits for the group, else other bits. */
export function permits(node: Node, user: User, want: number): boolean {
  let perm = node.mode & 7;
  const owner =
    (user.uname !== '' && user.uname === node.uid) || (user.nUname !== NONUNAME && user.nUname === node.nUid);
  const group =
    (user.uname !== '' && user.uname === node.gid) || (user.nUname !== NONUNAME && user.nUname === node.nGid);
  if (owner) perm |= (node.mode >> 6) & 7;
  if (group) perm |= (node.mode >> 3) & 7;
  return (perm & want) === want;
}

/** Access bits an open mode needs: read 4, write 2, exec 1. */
export function accessBits(mode: OpenMode): number {
  const rw = [4, 2, 6, 1][mode.access & 3]!;
  return mode.truncate ? rw | 2 : rw;
}

export function canRead(mode: OpenMode | null): boolean {
  return mode !== null && (mode.access === OREAD || mode.access === 2 || mode.access === 3);
}
export function canWrite(mode: OpenMode | null): boolean {
  return mode !== null && (mode.access === 1 || mode.access === 2);
}

export { QTDIR };
