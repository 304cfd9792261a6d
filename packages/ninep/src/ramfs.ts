/**
 * An in-memory read-write tree on the library, the way Plan 9's ramfs shows lib9p: files,
 * directories, symlinks, create, remove, rename, truncate, permissions (checked by the server).
 */
import { DMDIR } from './constants.js';
import { Errno, p9err } from './errors.js';
import { readBuf } from './helpers.js';
import { type AttrChanges, Dir, type FidContext, File, type Node, Symlink } from './tree.js';

/** Largest file ramfs keeps (a guard against one client eating the host's memory). */
const MAX_FILE = 1 << 30;

export class RamFile extends File {
  data = Buffer.alloc(0);
  override get length(): number {
    return this.data.length;
  }
  override open(fid: FidContext): void {
    if (fid.mode?.truncate && !this.appendOnly) this.resize(0);
  }
  override read(_fid: FidContext, offset: number, count: number): Uint8Array {
    return readBuf(this.data, offset, count);
  }
  override write(fid: FidContext, offset: number, data: Uint8Array): number {
    const at = this.appendOnly ? this.data.length : offset;
    if (at + data.length > this.data.length) this.resize(at + data.length);
    this.data.set(data, at);
    this.touch(fid.user);
    return data.length;
  }
  override setattr(c: AttrChanges, fid: FidContext): void | Promise<void> {
    if (c.length !== undefined) this.resize(c.length);
    return ramSetattr(this, c, fid);
  }
  private resize(n: number): void {
    if (n > MAX_FILE) throw p9err(Errno.EFBIG);
    if (n <= this.data.length) this.data = this.data.subarray(0, n);
    else {
      // Grow geometrically so appends stay linear.
      const cap = this.data.buffer.byteLength - this.data.byteOffset;
      if (n <= cap)
        this.data = Buffer.from(this.data.buffer, this.data.byteOffset, n).fill(0, this.data.length);
      else {
        const next = Buffer.alloc(Math.min(MAX_FILE, Math.max(n, this.data.length * 2, 4096)));
        this.data.copy(next);
        this.data = next.subarray(0, n);
      }
    }
    this.touch();
  }
}

export class RamDir extends Dir {
  override create(name: string, perm: number, fid: FidContext): Node {
    const { uname, nUname } = fid.user;
    const node =
      perm & DMDIR
        ? new RamDir(name, perm & 0o777, uname, this.gid)
        : new RamFile(name, perm, uname, this.gid);
    node.mode = (perm & (0xff000000 | 0o777)) >>> 0; // DM* bits and permissions as asked
    if (nUname !== 0xffffffff) node.nUid = nUname;
    node.nGid = this.nGid;
    this.touch(fid.user);
    return this.add(node);
  }
  override symlink(name: string, target: string, fid: FidContext): Node {
    const link = new Symlink(name, target, fid.user.uname, this.gid);
    if (fid.user.nUname !== 0xffffffff) link.nUid = fid.user.nUname;
    link.nGid = this.nGid;
    this.touch(fid.user);
    return this.add(link);
  }
  override remove(child: Node): void {
    this.detach(child);
  }
  override rename(child: Node, to: Dir, newName: string): void {
    if (!(to instanceof RamDir)) throw p9err(Errno.EXDEV);
    this.move(child, to, newName);
  }
  override setattr(c: AttrChanges, fid: FidContext): void | Promise<void> {
    if (c.length !== undefined && c.length !== 0) throw p9err(Errno.EISDIR);
    return ramSetattr(this, { ...c, length: undefined }, fid);
  }
}

function ramSetattr(node: Node, c: AttrChanges, fid: FidContext): void | Promise<void> {
  if (c.mode !== undefined) node.mode = ((node.mode & DMDIR) | (c.mode & ~DMDIR & 0x7fffffff)) >>> 0;
  if (typeof c.uid === 'number') node.nUid = c.uid;
  else if (c.uid) node.uid = c.uid;
  if (typeof c.gid === 'number') node.nGid = c.gid;
  else if (c.gid) node.gid = c.gid;
  if (c.atime !== undefined) node.atime = c.atime;
  if (c.mtime !== undefined) node.mtime = c.mtime;
  if (c.name !== undefined && c.name !== node.name) {
    if (!node.parent) throw p9err(Errno.EPERM, 'cannot rename the root');
    return node.parent.rename(node, node.parent, c.name, fid);
  }
}

/** A fresh ramfs root, owned by `uid` (mode 0777 so any attaching user may create). */
export function createRamfs(uid = 'none'): RamDir {
  return new RamDir('/', 0o777, uid);
}
