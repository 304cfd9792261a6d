/** The server's record of one fid, and the exclusive-use (DMEXCL) bookkeeping a fid's clunk releases. */
import { Errno, p9err } from './errors.js';
import { type Dir, type FidContext, File, type Node, type OpenMode, type User } from './tree.js';

/**
 * The DMEXCL files open through some fid of one server: a second open fails until the first fid
 * is clunked. Each server has its own, so serving one tree twice does not make the servers
 * refuse each other's opens.
 */
export class ExclusiveUse {
  private readonly open = new WeakSet<Node>();

  /** Marks `node` open if it is an exclusive-use file; EAGAIN if it already is. */
  claim(node: Node): void {
    if (!(node instanceof File && node.exclusive)) return;
    if (this.open.has(node)) throw p9err(Errno.EAGAIN, 'exclusive use file already open');
    this.open.add(node);
  }

  release(node: Node): void {
    this.open.delete(node);
  }
}

/** The server's record of one fid. */
export class Fid implements FidContext {
  mode: OpenMode | null = null;
  aux: unknown;
  /**
   * Clunked (or removed): a create or open still in flight on it must undo what it made, since
   * the clunk ran before that existed.
   */
  released = false;
  /** 9P2000/.u directory read cursor: snapshot, next entry, next byte offset. */
  dirList?: Node[];
  dirIndex = 0;
  dirOffset = 0;

  constructor(
    public node: Node,
    readonly user: User,
    /** The attach root: `..` stops here. */
    readonly root: Dir,
    /** The server's exclusive-use table, released at clunk. */
    readonly exclusive: ExclusiveUse,
  ) {}

  clone(): Fid {
    return new Fid(this.node, this.user, this.root, this.exclusive);
  }

  /** Clunk: the node's clunk handler, ORCLOSE removal, exclusive-use release. */
  async release(): Promise<void> {
    this.released = true;
    const { node, mode } = this;
    if (!mode) return;
    this.mode = null;
    this.exclusive.release(node);
    try {
      await node.clunk(this);
    } finally {
      if (mode.removeOnClose && node.parent) await node.parent.remove(node, this);
    }
  }
}
