/**
 * One session's open files. Like a real host (a bounded number of open descriptors per session,
 * the rest reopened by name on use, checked to be the same file by device and inode:
 * docs/protocol/hgfs.md, "Server role", "Sessions and handles"), at most `maxCachedFds`
 * descriptors stay open; a handle whose descriptor was closed reopens its file by its current name
 * (renames through HGFS follow it). A write with the append flag reopens with O_APPEND, as a host does.
 */
import { closeSync, constants, openSync, statSync } from 'node:fs';
import type { Share } from './policy.js';
import { errnoError } from './status.js';

export interface OpenFile {
  readonly handle: number;
  /** The file's real path now (an HGFS rename of it or of a directory above it updates this). */
  path: string;
  readonly share: Share;
  /** O_RDONLY, O_WRONLY or O_RDWR. */
  readonly access: number;
  /** The open descriptor has O_APPEND. */
  append: boolean;
  fd: number | undefined;
  readonly dev: bigint;
  readonly ino: bigint;
}

export class OpenFiles {
  private readonly files = new Map<number, OpenFile>();
  /** Files holding a descriptor, least recently used first. */
  private readonly cached = new Map<number, OpenFile>();

  constructor(
    /** Handles this session may hold at once. */
    readonly maxFiles: number,
    /** Descriptors kept open at once. */
    readonly maxCachedFds: number,
  ) {}

  get size(): number {
    return this.files.size;
  }

  /** Descriptors open now. */
  get descriptors(): number {
    return this.cached.size;
  }

  get full(): boolean {
    return this.files.size >= this.maxFiles;
  }

  add(f: Omit<OpenFile, 'append'>): OpenFile {
    const file: OpenFile = { ...f, append: false };
    this.files.set(file.handle, file);
    if (file.fd !== undefined) this.cache(file);
    return file;
  }

  get(handle: number): OpenFile | undefined {
    return this.files.get(handle);
  }

  /** The file's descriptor, reopened by name if it was closed (or to add O_APPEND). Throws errno errors. */
  fd(file: OpenFile, append = false): number {
    if (file.fd !== undefined && (!append || file.append)) {
      this.cache(file);
      return file.fd;
    }
    if (file.fd !== undefined) this.release(file);
    const st = statSync(file.path, { bigint: true });
    if (st.dev !== file.dev || st.ino !== file.ino)
      throw errnoError('ENOENT', `${file.path} is no longer the file handle ${file.handle} opened`);
    file.fd = openSync(
      file.path,
      file.access | constants.O_NONBLOCK | constants.O_NOFOLLOW | (append ? constants.O_APPEND : 0),
    );
    file.append = append;
    this.cache(file);
    return file.fd;
  }

  close(handle: number): boolean {
    const file = this.files.get(handle);
    if (!file) return false;
    this.files.delete(handle);
    this.release(file);
    return true;
  }

  /** Closes every file opened in a share (it was removed: a host drops such handles). */
  closeShare(share: Share): void {
    for (const f of [...this.files.values()]) if (f.share === share) this.close(f.handle);
  }

  closeAll(): void {
    for (const h of [...this.files.keys()]) this.close(h);
  }

  /** A rename of `from` to `to` happened: files at or below `from` now live below `to`. */
  renamed(from: string, to: string): void {
    for (const f of this.files.values()) {
      if (f.path === from) f.path = to;
      else if (f.path.startsWith(`${from}/`)) f.path = to + f.path.slice(from.length);
    }
  }

  private cache(file: OpenFile): void {
    this.cached.delete(file.handle);
    this.cached.set(file.handle, file);
    while (this.cached.size > this.maxCachedFds) {
      const oldest = this.cached.values().next().value!;
      this.release(oldest);
    }
  }

  private release(file: OpenFile): void {
    this.cached.delete(file.handle);
    if (file.fd === undefined) return;
    try {
      closeSync(file.fd);
    } catch {}
    file.fd = undefined;
  }
}
