/**
 * From an HGFS name (CPName components: share name first) to a real path on this machine, confined
 * to the share. A real Linux host refuses `.` and `..` components, resolves the parent directory with
 * realpath and refuses a parent outside the share, and never follows a final symlink (it opens with
 * O_NOFOLLOW and stats with lstat); docs/protocol/hgfs.md, "Server role", gives the sources. We do the
 * same, checking component by component rather than by string prefix, and for the few callers that
 * do follow a final symlink, check where it lands as well.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import type { Location, ResolveOptions, Share } from './policy.js';

/** Why a name was refused; the server turns each into the status a host answers. */
export type RefusalKind =
  /** An empty, `.` or `..` component, or one holding `/` or NUL. */
  | 'invalid-name'
  /** No share by the first component's name. */
  | 'no-share'
  /** A directory on the way does not exist. */
  | 'not-found'
  /** A component on the way is not a directory. */
  | 'not-directory'
  /** The real location (after symlinks) is outside the share. */
  | 'escape'
  /** Longer than a host path may be. */
  | 'too-long';

export class PathRefused extends Error {
  override readonly name = 'PathRefused';
  constructor(
    readonly kind: RefusalKind,
    message: string,
  ) {
    super(message);
  }
}

/** Longest real path (Linux PATH_MAX, 4096 with its NUL). */
export const MAX_HOST_PATH = 4095;

/** True when `p` (a real path) is `root` or below it. */
export function isInside(root: string, p: string): boolean {
  if (p === root) return true;
  return p.startsWith(root.endsWith('/') ? root : `${root}/`);
}

export function checkComponent(c: string): void {
  if (c === '' || c === '.' || c === '..' || c.includes('/') || c.includes('\0'))
    throw new PathRefused('invalid-name', `the name component ${JSON.stringify(c)} is not allowed`);
}

export function refusalFor(e: unknown, what: string): PathRefused {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new PathRefused('not-found', `${what} does not exist`);
  if (code === 'ENOTDIR') return new PathRefused('not-directory', `${what}: a component is not a directory`);
  if (code === 'ENAMETOOLONG') return new PathRefused('too-long', `${what}: name too long`);
  if (code === 'ELOOP') return new PathRefused('escape', `${what}: too many symlinks`);
  throw e;
}

/**
 * Resolves CPName components (share name first) to a real path in that share, or throws
 * PathRefused. Intermediate symlinks are followed and must stay in the share; the last component
 * is not followed unless asked.
 */
export function resolveName(
  shareNamed: (name: string) => Share | undefined,
  components: readonly string[],
  opts: ResolveOptions = {},
): Location {
  if (components.length === 0) return { kind: 'root' };
  const [shareName, ...rest] = components as [string, ...string[]];
  checkComponent(shareName);
  for (const c of rest) checkComponent(c);
  const share = shareNamed(shareName);
  if (!share) throw new PathRefused('no-share', `no share named "${shareName}"`);
  if (rest.length === 0) return { kind: 'path', share, path: share.root, shareRoot: true };
  const relative = rest.join('/');
  if (share.root.length + 1 + Buffer.byteLength(relative) > MAX_HOST_PATH)
    throw new PathRefused(
      'too-long',
      `${shareName}/${relative.slice(0, 40)}…: longer than ${MAX_HOST_PATH} bytes`,
    );
  const last = rest[rest.length - 1]!;
  let parent: string;
  try {
    parent = realpathSync(join(share.root, ...rest.slice(0, -1)));
  } catch (e) {
    throw refusalFor(e, `${shareName}/${rest.slice(0, -1).join('/')}`);
  }
  if (!isInside(share.root, parent))
    throw new PathRefused('escape', `${shareName}/${relative}: its directory is outside the share`);
  let path = join(parent, last);
  if (opts.followFinal) {
    let link = false;
    try {
      link = lstatSync(path).isSymbolicLink();
    } catch {}
    if (link) {
      try {
        path = realpathSync(path);
      } catch (e) {
        throw refusalFor(e, `${shareName}/${relative}`);
      }
      if (!isInside(share.root, path))
        throw new PathRefused('escape', `${shareName}/${relative}: a symlink to outside the share`);
    }
  }
  return { kind: 'path', share, path, shareRoot: false };
}
