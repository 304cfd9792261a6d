/**
 * The hgfs/ subtree (docs/protocol/tree.md §17): the host's shared folders over an HGFS client.
 * `hgfs/` lists the shares (asked of the host at every listing); each share is a read-write tree
 * whose nodes stand for host files by path. A node object lives as long as some fid holds it, and
 * a walk to the same name while it lives finds the same object, so a rename seen by one fid is
 * seen by all. Attributes come from the host through a short-lived cache (./cache.ts) that
 * directory listings fill. An open fid holds one HGFS handle, closed at its clunk.
 */

import {
  type DirEntry,
  type HgfsAttr,
  type HgfsClient,
  HgfsFileType,
  HgfsNameError,
  HgfsOpenFlags,
  HgfsOpenMode,
} from '@vmw9/hgfs';
import {
  type AttrChanges,
  Dir,
  DMAUTH,
  DMDEVICE,
  DMDIR,
  DMMOUNT,
  DMNAMEDPIPE,
  DMSOCKET,
  DMSYMLINK,
  Errno,
  errnoText,
  type FidContext,
  File,
  type Node,
  type OpenMode,
  p9err,
  type StatfsFigures,
  Symlink,
} from 'ninep';
import {
  factsOf,
  hgfsChanges,
  type NodeFacts,
  type NodeKind,
  type Presentation,
  qidPathOf,
} from './attrs.js';
import { AttrCache } from './cache.js';
import { HgfsReplyError, hgfsToNinep, isNoSuchFile, isStaleHandle } from './errors.js';
import { ReadAhead, ReadAheadBudget, type ReadAheadOptions } from './readahead.js';
import { WriteGather } from './writegather.js';

/** What the subtree asks of an HGFS client (HgfsClient has it all; tests may give less). */
export type HgfsBackend = Pick<
  HgfsClient,
  | 'readChunk'
  | 'writeChunk'
  | 'getattr'
  | 'setattr'
  | 'open'
  | 'read'
  | 'write'
  | 'close'
  | 'listDir'
  | 'listShares'
  | 'mkdir'
  | 'removeFile'
  | 'removeDir'
  | 'rename'
  | 'symlink'
  | 'queryVolume'
>;

export interface HgfsTreeOptions extends Partial<Presentation> {
  client: HgfsBackend;
  /** Host files open at once through the tree (default 1024): past it, opens fail EMFILE. */
  maxOpenFiles?: number;
  /** How long the host's answer about a file is reused, in ms (default 1000; 0: never). */
  attrCacheMs?: number;
  /** The clock the cache uses (ms), default Date.now; tests inject their own. */
  now?: () => number;
  /** Plan 9 owner name of `hgfs/` itself (default `vmware`, as the rest of the tree). */
  owner?: string;
}

/** Default lifetime of a cached attribute answer (ms). */
export const DEFAULT_ATTR_CACHE_MS = 1000;
/** Plan 9 mode bits a host file cannot have: special files, links, mounts. */
const SPECIAL = (DMDEVICE | DMNAMEDPIPE | DMSOCKET | DMMOUNT | DMAUTH | 0x01000000) >>> 0;

/** One share: its name, its number in qid paths, and whether its root shows it writable. */
interface Share {
  readonly name: string;
  readonly id: number;
  writable: boolean | undefined;
}

/** Host files the tree keeps open at once unless told: a host's table per session is bounded (4096 in vmx-sim). */
export const DEFAULT_MAX_OPEN_FILES = 1024;

/**
 * The HGFS handles the tree holds, so one client opening file after file cannot fill the session's
 * table on the host for every other client: an open past the bound fails EMFILE before any request.
 */
class HandleTable {
  private readonly live = new Set<number>();
  private opening = 0;
  constructor(
    private readonly client: HgfsBackend,
    readonly max: number,
  ) {}
  get size(): number {
    return this.live.size;
  }
  async open(path: readonly string[], opts: Parameters<HgfsBackend['open']>[1]): Promise<number> {
    if (this.live.size + this.opening >= this.max)
      throw refuse(
        Errno.EMFILE,
        `${this.max} shared files are open through this tree (the bound): close some first`,
      );
    this.opening++;
    try {
      const handle = await this.client.open(path, opts);
      this.live.add(handle);
      return handle;
    } finally {
      this.opening--;
    }
  }
  /** Closes a handle; its slot is free whatever the host answers. */
  async close(handle: number): Promise<void> {
    this.live.delete(handle);
    await this.client.close(handle);
  }
  /** A handle the host no longer knows (its session was reset): nothing to close. */
  forget(handle: number): void {
    this.live.delete(handle);
  }
  /** Every handle is gone with the host's session. */
  clear(): void {
    this.live.clear();
  }
}

/** The subtree's shared state. */
class Mount {
  readonly cache: AttrCache;
  /** The HGFS handles open fids hold, at most `maxOpenFiles`: the host's per-session table is shared. */
  readonly handles: HandleTable;
  /** What every open file's read-ahead shares (readahead.ts). */
  readonly readAhead: ReadAheadOptions;
  readonly present: Presentation;
  private readonly shares = new Map<string, Share>();
  constructor(
    readonly client: HgfsBackend,
    opts: HgfsTreeOptions,
  ) {
    this.cache = new AttrCache(opts.attrCacheMs ?? DEFAULT_ATTR_CACHE_MS, opts.now);
    this.handles = new HandleTable(this.client, opts.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES);
    this.readAhead = {
      budget: new ReadAheadBudget(),
      lifetimeMs: this.cache.lifetimeMs,
      ...(opts.now ? { now: opts.now } : {}),
    };
    this.present = {
      ...(opts.uid === undefined ? {} : { uid: opts.uid }),
      ...(opts.gid === undefined ? {} : { gid: opts.gid }),
      dmask: opts.dmask ?? 0,
      fmask: opts.fmask ?? 0,
    };
  }
  /** The share of this name, numbered the first time it is seen (never reused for another name). */
  share(name: string): Share {
    let s = this.shares.get(name);
    if (!s) {
      if (this.shares.size >= 0xffff)
        throw refuse(Errno.ENFILE, 'more than 65535 share names seen since the tree started');
      s = { name, id: this.shares.size + 1, writable: undefined };
      this.shares.set(name, s);
    }
    return s;
  }
}

/** Where a live child is registered, updated when it moves (the finalizer reads it). */
interface LiveSlot {
  dir: Container;
  name: string;
  ref: WeakRef<HgfsNode>;
}

/** A directory whose children are host files: `hgfs/` itself or a directory of a share. */
type Container = HgfsRoot | HgfsDir;
type HgfsNode = HgfsFile | HgfsDir | HgfsSymlink;

/** Drops a collected node's slot, unless a newer node took its name. */
const finalizer = new FinalizationRegistry<LiveSlot>((slot) => {
  if (slot.dir.live.get(slot.name) === slot.ref) slot.dir.live.delete(slot.name);
});

/** What every host-file node carries. */
class HostState {
  fileId: bigint | undefined;
  /** Removed (by us) or replaced by a rename onto its name: path operations refuse. */
  gone = false;
  slot: LiveSlot | undefined;
  constructor(
    readonly mount: Mount,
    readonly share: Share,
  ) {}
}

/** An open fid's HGFS handle (fid.aux), and what it has read ahead. */
class OpenHandle {
  /** The fid was clunked: a request still in flight on it must not open the file again. */
  closed = false;
  readonly readAhead: ReadAhead;
  /** Contiguous writes that arrive while one is at the host go on together (writegather.ts). */
  readonly writes: WriteGather;
  constructor(
    readonly node: HgfsFile,
    public handle: number,
    readonly hgfsMode: number,
  ) {
    const { client } = node.host.mount;
    this.readAhead = new ReadAhead(node.host.mount.readAhead);
    this.writes = new WriteGather(
      (offset, data) => withHandle(node, this, true, (h) => client.write(h, BigInt(offset), data)),
      () => client.writeChunk,
    );
  }
}

/** A handle `create` opened for the fid that Tcreate/Tlcreate opens next (fid.aux until then). */
class CreatedHandle {
  constructor(
    readonly node: HgfsFile,
    readonly handle: number,
  ) {}
}

function isHostNode(n: Node | undefined): n is HgfsNode {
  return n instanceof HgfsFile || n instanceof HgfsDir || n instanceof HgfsSymlink;
}

/** The node's path: the share's name, then each name below it. */
function pathOf(node: HgfsNode): string[] {
  const names: string[] = [];
  let n: Node | undefined = node;
  while (isHostNode(n)) {
    if (n.host.gone)
      throw refuse(Errno.ENOENT, 'file does not exist (removed or replaced through this tree)');
    names.push(n.name);
    if (n instanceof HgfsDir && n.isShareRoot) return names.reverse();
    n = n.parent;
  }
  throw refuse(Errno.ENOENT, 'file does not exist (no longer in its share)');
}
const keyOf = (path: readonly string[]) => path.join('/');
/** An error of the subtree's own: Plan 9's words for the errno first, then why. */
const refuse = (errno: number, why: string) => p9err(errno, `${errnoText(errno)} (${why})`);
const describe = (path: readonly string[]) => `hgfs/${path.join('/')}`;

/** Runs one host request; its failure becomes this request's 9P error. */
async function ask<T>(node: { host: HostState }, mutates: boolean, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw hgfsToNinep(e, { mutates, readOnlyShare: node.host.share.writable === false });
  }
}

function kindOf(n: HgfsNode): NodeKind {
  return n instanceof HgfsDir ? 'dir' : n instanceof HgfsSymlink ? 'symlink' : 'file';
}

/** Sets a node's fields from facts about it. */
function apply(node: HgfsNode, f: NodeFacts): void {
  node.mode = f.mode;
  node.atime = f.atime;
  node.mtime = f.mtime;
  node.nUid = f.nUid;
  node.nGid = f.nGid;
  node.uid = node.gid = node.muid = String(f.nUid);
  node.gid = String(f.nGid);
  node.version = f.version;
  if (f.fileId !== undefined) node.host.fileId = f.fileId;
  if (node instanceof HgfsFile) node.size = f.length;
  else if (node instanceof HgfsSymlink) {
    if (f.target !== '') node.target = f.target;
    node.size = f.length;
  } else if (node.isShareRoot) node.host.share.writable = f.writable;
}

/** The facts of an attribute record, or EIO naming the request when the host sent nonsense. */
function facts(mount: Mount, attr: HgfsAttr, path: readonly string[]): NodeFacts {
  try {
    return factsOf(attr, mount.present, `getattr ${describe(path)}`);
  } catch (e) {
    throw hgfsToNinep(e);
  }
}

/**
 * Fresh facts about a node: from the cache, else from the host by its path. A fid with a handle
 * still answers when the path does not (the file was removed, or renamed on the host): by handle.
 */
async function refreshNode(node: HgfsNode, fid: FidContext): Promise<void> {
  const open = fid.aux instanceof OpenHandle && fid.aux.node === node ? fid.aux : undefined;
  const { mount } = node.host;
  const byHandle = async () => {
    const attr = await ask(node, false, () => mount.client.getattr({ handle: open!.handle }));
    applyChecked(node, attr, [node.name]);
  };
  let path: string[];
  try {
    path = pathOf(node);
  } catch (e) {
    if (open) return byHandle();
    throw e;
  }
  const key = keyOf(path);
  const cached = mount.cache.get(key);
  const wantTarget = node instanceof HgfsSymlink;
  if (cached && !(wantTarget && cached.symlinkTarget === '')) return applyChecked(node, cached, path);
  if (cached === null && !open) throw refuse(Errno.ENOENT, `file does not exist (${describe(path)})`);
  let attr: HgfsAttr;
  const askedAt = mount.cache.stamp;
  try {
    attr = await mount.client.getattr(path);
  } catch (e) {
    if (open && isNoSuchFile(e)) return byHandle();
    throw hgfsToNinep(e, { readOnlyShare: node.host.share.writable === false });
  }
  mount.cache.set(key, attr, askedAt);
  applyChecked(node, attr, path);
}

function applyChecked(node: HgfsNode, attr: HgfsAttr, path: readonly string[]): void {
  const f = facts(node.host.mount, attr, path);
  if (f.kind !== kindOf(node))
    throw refuse(Errno.EIO, `${describe(path)} is now a ${f.kind} on the host, was a ${kindOf(node)}`);
  apply(node, f);
}

/** qid.path from the host's file id when known, else the tree's allocator (stable for the node's life). */
function qidFor(node: HgfsNode, fallback: () => bigint): bigint {
  const id = node.host.fileId;
  return id === undefined ? fallback() : qidPathOf(node.host.share.id, id);
}

// ---------------------------------------------------------------------------------------------
// Files and symlinks

/** 9P access mode → HGFS open mode (OEXEC reads). */
function hgfsMode(mode: OpenMode): number {
  return mode.access === 1
    ? HgfsOpenMode.WRITE_ONLY
    : mode.access === 2
      ? HgfsOpenMode.READ_WRITE
      : HgfsOpenMode.READ_ONLY;
}

export class HgfsFile extends File {
  size = 0;
  /** Changes at every write or truncation through the tree: read-ahead older than it is stale. */
  dataGeneration = 0;
  constructor(
    name: string,
    readonly host: HostState,
  ) {
    super(name, 0o644);
  }
  override get qidPath(): bigint {
    return qidFor(this, () => super.qidPath);
  }
  override get length(): number {
    return this.size;
  }
  override refresh(fid: FidContext): Promise<void> {
    return refreshNode(this, fid);
  }

  override async open(fid: FidContext, mode: OpenMode): Promise<void> {
    // Truncation needs write access on the host, whatever the 9P open asked for reading.
    const asked = hgfsMode(mode);
    const want = mode.truncate && asked === HgfsOpenMode.READ_ONLY ? HgfsOpenMode.READ_WRITE : asked;
    if (fid.aux instanceof CreatedHandle && fid.aux.node === this) {
      // The handle create opened (read-write) serves whatever access the open asks.
      fid.aux = new OpenHandle(this, fid.aux.handle, HgfsOpenMode.READ_WRITE);
      return;
    }
    const path = pathOf(this);
    const { handles, cache } = this.host.mount;
    const flags = mode.truncate ? HgfsOpenFlags.OPEN_EMPTY : HgfsOpenFlags.OPEN;
    const handle = await ask(this, mode.truncate || want !== HgfsOpenMode.READ_ONLY, () =>
      handles.open(path, { mode: want, flags }),
    );
    fid.aux = new OpenHandle(this, handle, want);
    if (mode.truncate) {
      cache.drop(keyOf(path));
      this.size = 0;
      this.dataGeneration++;
    }
  }

  override async read(
    fid: FidContext,
    offset: number,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const open = openOf(fid, this);
    const { client } = this.host.mount;
    const data = await open.readAhead.read(
      offset,
      count,
      client.readChunk,
      this.dataGeneration,
      (at, length, sig) =>
        withHandle(this, open, false, (h) => client.read(h, BigInt(at), length, sig ? { signal: sig } : {})),
      signal,
    );
    if (data.length > count)
      throw hgfsToNinep(
        new HgfsReplyError(`read ${describeNode(this)}`, `${data.length} bytes came back for ${count} asked`),
      );
    return data;
  }

  override async write(
    fid: FidContext,
    offset: number,
    data: Uint8Array,
    signal: AbortSignal,
  ): Promise<number> {
    const open = openOf(fid, this);
    signal.throwIfAborted();
    const n = await open.writes.write(offset, data);
    if (n > data.length)
      throw hgfsToNinep(
        new HgfsReplyError(
          `write ${describeNode(this)}`,
          `the host says it wrote ${n} bytes of ${data.length}`,
        ),
      );
    dropCached(this);
    this.dataGeneration++;
    open.readAhead.drop();
    if (offset + n > this.size) this.size = offset + n;
    this.touch(fid.user);
    return n;
  }

  override async clunk(fid: FidContext): Promise<void> {
    if (fid.aux instanceof OpenHandle) fid.aux.readAhead.close();
    await closeOf(fid, this);
  }

  override async setattr(changes: AttrChanges, fid: FidContext): Promise<void> {
    // An open fid changes its own file by its handle (ftruncate, fchmod): the file may have been
    // renamed or removed since it was opened.
    // A handle opened for reading cannot truncate (ftruncate needs write access): by path then.
    const open =
      fid.aux instanceof OpenHandle &&
      fid.aux.node === this &&
      (changes.length === undefined || fid.aux.hgfsMode !== HgfsOpenMode.READ_ONLY)
        ? fid.aux
        : undefined;
    await setHostAttr(this, changes, open);
    if (changes.length !== undefined) {
      this.size = changes.length;
      this.dataGeneration++;
    }
  }

  /** HGFS V3 has no sync: every write already reached the host before its Rwrite. */
  override fsync(): void {}
}

export class HgfsSymlink extends Symlink {
  size = 0;
  constructor(
    name: string,
    readonly host: HostState,
  ) {
    super(name, '');
  }
  override get qidPath(): bigint {
    return qidFor(this, () => super.qidPath);
  }
  override get length(): number {
    return this.target === '' ? this.size : Buffer.byteLength(this.target);
  }
  override refresh(fid: FidContext): Promise<void> {
    return refreshNode(this, fid);
  }
  override async readlink(fid: FidContext): Promise<string> {
    await refreshNode(this, fid);
    return this.target;
  }
  override async read(fid: FidContext, offset: number, count: number): Promise<Uint8Array> {
    await refreshNode(this, fid);
    return super.read(fid, offset, count);
  }
  override async setattr(changes: AttrChanges): Promise<void> {
    // A symlink's own mode and times are not the host's to change through its target.
    if (changes.name !== undefined && changes.name !== this.name) return renameInPlace(this, changes.name);
    if (changes.length !== undefined || changes.mode !== undefined)
      throw refuse(Errno.EPERM, 'a symlink has no length or mode of its own to change');
  }
}

function describeNode(n: HgfsNode): string {
  try {
    return describe(pathOf(n));
  } catch {
    return `hgfs/…/${n.name}`;
  }
}

function openOf(fid: FidContext, node: HgfsFile): OpenHandle {
  const open = fid.aux;
  if (!(open instanceof OpenHandle) || open.node !== node)
    throw refuse(Errno.EBADF, 'fid has no host handle');
  return open;
}

/**
 * Runs a request on the fid's handle. A handle the host no longer knows (its session was reset
 * underneath us) is opened again by path, once, with the same access (never truncating).
 */
async function withHandle<T>(
  node: HgfsFile,
  open: OpenHandle,
  mutates: boolean,
  run: (handle: number) => Promise<T>,
): Promise<T> {
  try {
    return await run(open.handle);
  } catch (e) {
    if (!isStaleHandle(e))
      throw hgfsToNinep(e, { mutates, readOnlyShare: node.host.share.writable === false });
  }
  // Clunked while this request was in flight: the handle is gone for good, and a new one would
  // never be closed.
  const clunked = () => refuse(Errno.EBADF, 'the fid was clunked while the request was in flight');
  if (open.closed) throw clunked();
  const path = pathOf(node);
  const { handles } = node.host.mount;
  handles.forget(open.handle);
  const handle = await ask(node, false, () =>
    handles.open(path, { mode: open.hgfsMode, flags: HgfsOpenFlags.OPEN }),
  );
  if (open.closed) {
    await handles.close(handle).catch(() => undefined);
    throw clunked();
  }
  open.handle = handle;
  return ask(node, mutates, () => run(open.handle));
}

/** Closes the fid's handle. One the host forgot (a reset) is closed already. */
async function closeOf(fid: FidContext, node: HgfsFile): Promise<void> {
  const open = fid.aux;
  fid.aux = undefined;
  if (open instanceof OpenHandle) open.closed = true;
  const handle = open instanceof OpenHandle || open instanceof CreatedHandle ? open.handle : undefined;
  if (handle === undefined) return;
  try {
    await node.host.mount.handles.close(handle);
  } catch (e) {
    if (!isStaleHandle(e)) throw hgfsToNinep(e);
  }
}

function dropCached(node: HgfsNode): void {
  try {
    node.host.mount.cache.drop(keyOf(pathOf(node)));
  } catch {
    // removed: nothing cached under its path is its own any more
  }
}

/**
 * Twstat/Tsetattr on a file or directory: a rename in place, or the host's setattr (by the fid's
 * handle when it has one, else by path).
 */
async function setHostAttr(node: HgfsFile | HgfsDir, changes: AttrChanges, open?: OpenHandle): Promise<void> {
  if (changes.name !== undefined && changes.name !== node.name) {
    await renameInPlace(node, changes.name);
  }
  for (const [what, id, mine] of [
    ['owner', changes.uid, node.nUid],
    ['group', changes.gid, node.nGid],
  ] as const) {
    if (id === undefined || id === '' || id === mine || id === String(mine)) continue;
    throw refuse(Errno.EPERM, `the ${what} of a host file cannot be changed from the guest`);
  }
  if (node instanceof HgfsDir && changes.length !== undefined && changes.length !== 0)
    throw refuse(Errno.EISDIR, 'a directory has no length to set');
  const c = hgfsChanges({ ...changes, ...(node instanceof HgfsDir ? { length: undefined } : {}) });
  if (Object.keys(c).length === 0) return;
  const { client } = node.host.mount;
  if (open && node instanceof HgfsFile) {
    await withHandle(node, open, true, (handle) => client.setattr({ handle }, c));
    dropCached(node);
  } else {
    const path = pathOf(node);
    await ask(node, true, () => client.setattr(path, c));
    node.host.mount.cache.drop(keyOf(path));
  }
  if (changes.mode !== undefined)
    node.mode = ((node.mode & (DMDIR | DMSYMLINK)) | (changes.mode & 0o777)) >>> 0;
  if (changes.mtime !== undefined) node.mtime = changes.mtime;
  if (changes.atime !== undefined) node.atime = changes.atime;
}

async function renameInPlace(node: HgfsNode, name: string): Promise<void> {
  const parent = node.parent;
  if (!(parent instanceof HgfsDir)) throw refuse(Errno.EPERM, 'a share is renamed on the host');
  await parent.rename(node, parent, name);
}

// ---------------------------------------------------------------------------------------------
// Directories

/** The live child of a container for `name` made to agree with `f`: the same object while it lives. */
function childFor(dir: Container, name: string, f: NodeFacts, share: Share): HgfsNode {
  const existing = dir.live.get(name)?.deref();
  if (existing && kindOf(existing) === f.kind && !existing.host.gone) {
    apply(existing, f);
    return existing;
  }
  if (existing) detachNode(existing);
  const host = new HostState(dir.mount, share);
  const node: HgfsNode =
    f.kind === 'dir'
      ? new HgfsDir(name, host, dir instanceof HgfsRoot)
      : f.kind === 'symlink'
        ? new HgfsSymlink(name, host)
        : new HgfsFile(name, host);
  node.parent = dir;
  const ref = new WeakRef<HgfsNode>(node);
  const slot: LiveSlot = { dir, name, ref };
  host.slot = slot;
  dir.live.set(name, ref);
  finalizer.register(node, slot);
  apply(node, f);
  return node;
}

/** The node no longer stands for a host file reachable by its path (removed, or renamed over). */
function detachNode(node: HgfsNode): void {
  node.host.gone = true;
  const slot = node.host.slot;
  if (slot && slot.dir.live.get(slot.name) === slot.ref) slot.dir.live.delete(slot.name);
  node.parent = undefined;
}

/** The name a host listing gave, checked: one the tree could not serve fails the listing. */
function checkListedName(name: string, path: readonly string[]): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
    throw hgfsToNinep(
      new HgfsReplyError(
        `list ${describe(path)}`,
        `the entry name ${JSON.stringify(name)} is not a file name`,
      ),
    );
  if (Buffer.byteLength(name) > 255)
    throw hgfsToNinep(
      new HgfsReplyError(
        `list ${describe(path)}`,
        `an entry name of ${Buffer.byteLength(name)} bytes is longer than 255`,
      ),
    );
}

/** A listing as nodes (the snapshot one open sees), each entry's attributes cached for the walks that follow. */
function listed(
  dir: Container,
  base: readonly string[],
  entries: DirEntry[],
  shareOf: (name: string) => Share,
  /** The cache's stamp when the listing was asked for. */
  askedAt: number,
): HgfsNode[] {
  const { mount } = dir;
  const seen = new Set<string>();
  const out: HgfsNode[] = [];
  for (const e of entries) {
    checkListedName(e.name, base);
    if (seen.has(e.name)) continue;
    seen.add(e.name);
    const path = [...base, e.name];
    const key = keyOf(path);
    // A listing does not carry a symlink's target: keep one already known for the same link.
    const before = mount.cache.get(key);
    const attr: HgfsAttr = {
      ...e.attr,
      symlinkTarget: before && before.type === HgfsFileType.SYMLINK ? before.symlinkTarget : '',
    };
    const node = childFor(dir, e.name, facts(mount, attr, path), shareOf(e.name));
    mount.cache.set(key, attr, askedAt);
    out.push(node);
  }
  return out;
}

/** A name 9P may ask about that the host can never have (too long for HGFS): no such file. */
function hostCannotName(e: unknown): boolean {
  return e instanceof HgfsNameError;
}

/** The host's answer about one child path: cached, else asked; null when there is nothing. */
async function lookupAttr(mount: Mount, path: string[], readOnlyShare: boolean): Promise<HgfsAttr | null> {
  // A name no host file can have ('/' or NUL in it, '.', ''): nothing there, and nothing cached,
  // since the cache key of ['a/b'] is that of ['a', 'b'].
  const name = path[path.length - 1]!;
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return null;
  const key = keyOf(path);
  const cached = mount.cache.get(key);
  if (cached !== undefined) return cached;
  const askedAt = mount.cache.stamp;
  try {
    const attr = await mount.client.getattr(path);
    mount.cache.set(key, attr, askedAt);
    return attr;
  } catch (e) {
    if (hostCannotName(e)) return null;
    if (isNoSuchFile(e)) {
      mount.cache.set(key, null, askedAt);
      return null;
    }
    throw hgfsToNinep(e, { readOnlyShare });
  }
}

export class HgfsDir extends Dir {
  readonly live = new Map<string, WeakRef<HgfsNode>>();
  constructor(
    name: string,
    readonly host: HostState,
    /** This directory is a share's root: its path is the share's name. */
    readonly isShareRoot: boolean,
  ) {
    super(name, 0o755);
  }
  get mount(): Mount {
    return this.host.mount;
  }
  override get qidPath(): bigint {
    return qidFor(this, () => super.qidPath);
  }
  override refresh(fid: FidContext): Promise<void> {
    return refreshNode(this, fid);
  }

  override async lookup(name: string): Promise<Node | undefined> {
    const path = [...pathOf(this), name];
    const attr = await lookupAttr(this.mount, path, this.host.share.writable === false);
    if (!attr) return undefined;
    return childFor(this, name, facts(this.mount, attr, path), this.host.share);
  }

  override async list(): Promise<Node[]> {
    const path = pathOf(this);
    const askedAt = this.mount.cache.stamp;
    const entries = await ask(this, false, () => this.mount.client.listDir(path));
    return listed(this, path, entries, () => this.host.share, askedAt);
  }

  override async create(name: string, perm: number, fid: FidContext): Promise<Node> {
    if (perm & SPECIAL)
      throw refuse(Errno.EOPNOTSUPP, 'a shared folder holds files, directories and symlinks only');
    const path = [...pathOf(this), name];
    const { client, cache } = this.mount;
    this.dropOwn(path);
    if (perm & DMDIR) {
      await ask(this, true, () => client.mkdir(path, perm & 0o777));
      return this.fetchChild(name, path);
    }
    const handle = await ask(this, true, () =>
      this.mount.handles.open(path, {
        mode: HgfsOpenMode.READ_WRITE,
        flags: HgfsOpenFlags.OPEN_CREATE_SAFE,
        permissions: perm & 0o777,
      }),
    );
    // Until the fid holds the handle, any failure (the host's attributes unusable among them)
    // closes it here: nothing else would.
    try {
      const askedAt = cache.stamp;
      const attr = await ask(this, false, () => client.getattr({ handle }));
      const f = facts(this.mount, attr, path);
      if (f.kind !== 'file')
        throw refuse(Errno.EIO, `${describe(path)} was created as a file but the host shows a ${f.kind}`);
      cache.set(keyOf(path), attr, askedAt);
      const node = childFor(this, name, f, this.host.share) as HgfsFile;
      fid.aux = new CreatedHandle(node, handle);
      return node;
    } catch (e) {
      await this.mount.handles.close(handle).catch(() => undefined);
      throw e;
    }
  }

  override async symlink(name: string, target: string): Promise<Node> {
    const path = [...pathOf(this), name];
    this.dropOwn(path);
    await ask(this, true, () => this.mount.client.symlink(path, target));
    return this.fetchChild(name, path);
  }

  override async remove(child: Node): Promise<void> {
    if (!isHostNode(child)) throw refuse(Errno.EPERM, 'remove prohibited');
    const path = pathOf(child);
    const { client, cache } = this.mount;
    await ask(this, true, () =>
      child instanceof HgfsDir ? client.removeDir(path) : client.removeFile(path),
    );
    cache.dropTree(keyOf(path));
    detachNode(child);
  }

  override async rename(child: Node, to: Dir, newName: string): Promise<void> {
    if (!isHostNode(child)) throw refuse(Errno.EPERM, 'rename prohibited');
    if (!(to instanceof HgfsDir) || to.host.share !== this.host.share)
      throw refuse(Errno.EXDEV, 'a rename stays within one share');
    for (let d: Node | undefined = to; d; d = d.parent)
      if (d === child) throw refuse(Errno.EINVAL, 'cannot move a directory into itself');
    const from = pathOf(child);
    const dest = [...pathOf(to), newName];
    if (keyOf(from) === keyOf(dest)) return;
    const { client, cache } = this.mount;
    await ask(this, true, () => client.rename(from, dest));
    for (const p of [from, dest]) cache.dropTree(keyOf(p));
    const replaced = to.live.get(newName)?.deref();
    if (replaced && replaced !== child) detachNode(replaced);
    const slot = child.host.slot;
    if (slot && slot.dir.live.get(slot.name) === slot.ref) slot.dir.live.delete(slot.name);
    child.name = newName;
    child.parent = to;
    if (slot) {
      slot.dir = to;
      slot.name = newName;
      to.live.set(newName, slot.ref);
    }
  }

  override async setattr(changes: AttrChanges): Promise<void> {
    if (this.isShareRoot && changes.name !== undefined && changes.name !== this.name)
      throw refuse(Errno.EPERM, 'a share is renamed on the host');
    await setHostAttr(this, changes);
  }

  override async statfs(): Promise<StatfsFigures | undefined> {
    if (!this.isShareRoot) return undefined;
    const path = [this.name];
    const v = await ask(this, false, () => this.mount.client.queryVolume(path));
    const bsize = 4096n;
    const free = v.freeBytes / bsize;
    return {
      bsize: 4096,
      blocks: v.totalBytes / bsize,
      bfree: free,
      bavail: free,
      fsid: BigInt(this.host.share.id),
      namelen: 255,
    };
  }

  /**
   * Our own change to `path` makes what was cached about it stale. The directory's own times move
   * too, but are left to age out with the cache (as a change made on the host would): dropping
   * them would cost a request per file in a loop that creates or removes many.
   */
  private dropOwn(path: readonly string[]): void {
    this.mount.cache.drop(keyOf(path));
  }

  /** The node for a child just made: its attributes asked of the host (for its qid). */
  private async fetchChild(name: string, path: string[]): Promise<HgfsNode> {
    const askedAt = this.mount.cache.stamp;
    const attr = await ask(this, false, () => this.mount.client.getattr(path));
    this.mount.cache.set(keyOf(path), attr, askedAt);
    return childFor(this, name, facts(this.mount, attr, path), this.host.share);
  }
}

// ---------------------------------------------------------------------------------------------
// hgfs/ itself

/** `hgfs/`: one directory per share, listed from the host at each read; shares are made on the host. */
export class HgfsRoot extends Dir {
  readonly live = new Map<string, WeakRef<HgfsNode>>();
  readonly mount: Mount;
  constructor(opts: HgfsTreeOptions) {
    super('hgfs', 0o555, opts.owner ?? 'vmware');
    this.mount = new Mount(opts.client, opts);
  }

  override async lookup(name: string): Promise<Node | undefined> {
    const attr = await lookupAttr(this.mount, [name], false);
    if (!attr) return undefined;
    const share = this.mount.share(name);
    const f = facts(this.mount, attr, [name]);
    if (f.kind !== 'dir') throw refuse(Errno.EIO, `the host's share ${name} is not a directory`);
    return childFor(this, name, f, share);
  }

  override async list(): Promise<Node[]> {
    let entries: DirEntry[];
    const askedAt = this.mount.cache.stamp;
    try {
      entries = await this.mount.client.listShares();
    } catch (e) {
      throw hgfsToNinep(e);
    }
    const dirs = entries.filter((e) => e.attr.type === HgfsFileType.DIRECTORY);
    return listed(this, [], dirs, (name) => this.mount.share(name), askedAt);
  }

  override create(): never {
    throw refuse(Errno.EPERM, 'shares are added on the host');
  }
  override symlink(): never {
    throw refuse(Errno.EPERM, 'shares are added on the host');
  }
  override remove(): never {
    throw refuse(Errno.EPERM, 'shares are removed on the host');
  }
  override rename(): never {
    throw refuse(Errno.EPERM, 'shares are renamed on the host');
  }

  /** Forgets every cached answer (the host's session was reset). */
  forgetCached(): void {
    this.mount.cache.clear();
    this.mount.handles.clear();
  }
}
