/**
 * HGFS failures as 9P errors (docs/protocol/tree.md §17): the host's status becomes the errno
 * vmhgfs-fuse gives it (@vmw9/hgfs `statusErrno`), with the status and the path in the text; a
 * write refused on a read-only share is EROFS; anything the host sent that does not decode, or
 * that breaks a rule of the subtree, is EIO naming what was wrong. The text starts with Plan 9's
 * words for the errno, so a 9P2000 reader sees the kind of failure first.
 */
import { HgfsDecodeError, HgfsError, HgfsStatus, HgfsStatusError, HgfsTransportError } from '@vmw9/hgfs';
import { Errno, errnoText, NinepError, p9err } from 'ninep';

/** The host broke a rule of the subtree (a size past 2^53, an unknown file type, a bad name…). */
export class HgfsReplyError extends Error {
  override readonly name = 'HgfsReplyError';
  constructor(
    /** What was asked, e.g. `getattr docs/a.txt`. */
    readonly request: string,
    readonly reason: string,
  ) {
    super(`the host's answer to ${request} is unusable: ${reason}`);
  }
}

/** What the mapping needs to know about the request that failed. */
export interface FailureContext {
  /** The request changes the share (create, write, setattr, rename, remove, mkdir, symlink). */
  mutates?: boolean;
  /** The share is read-only (its root shows no write permission to anyone). */
  readOnlyShare?: boolean;
}

export function hgfsToNinep(err: unknown, ctx: FailureContext = {}): NinepError {
  if (err instanceof NinepError) return err;
  if (err instanceof HgfsStatusError) {
    const refused =
      err.status === HgfsStatus.ACCESS_DENIED || err.status === HgfsStatus.OPERATION_NOT_PERMITTED;
    const errno = refused && ctx.mutates && ctx.readOnlyShare ? Errno.EROFS : err.errno || Errno.EIO;
    return p9err(errno, `${errnoText(errno)} (HGFS ${err.message})`);
  }
  if (err instanceof HgfsReplyError || err instanceof HgfsDecodeError)
    return p9err(Errno.EIO, `${errnoText(Errno.EIO)} (HGFS reply: ${err.message})`);
  if (err instanceof HgfsTransportError) return p9err(Errno.EIO, `${errnoText(Errno.EIO)} (${err.message})`);
  if (err instanceof HgfsError) return p9err(Errno.EIO, `${errnoText(Errno.EIO)} (${err.message})`);
  if (err instanceof Error && err.name === 'AbortError') return p9err(Errno.EINTR);
  return p9err(
    Errno.EIO,
    `${errnoText(Errno.EIO)} (HGFS: ${err instanceof Error ? err.message : String(err)})`,
  );
}

/** The host said the file is not there. */
export function isNoSuchFile(err: unknown): boolean {
  return (
    err instanceof HgfsStatusError &&
    (err.status === HgfsStatus.NO_SUCH_FILE_OR_DIR || err.status === HgfsStatus.INVALID_NAME)
  );
}

/** The host no longer knows the handle (its session was reset, or it closed it). */
export function isStaleHandle(err: unknown): boolean {
  return (
    err instanceof HgfsStatusError &&
    (err.status === HgfsStatus.INVALID_HANDLE || err.status === HgfsStatus.STALE_SESSION)
  );
}
