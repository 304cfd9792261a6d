/**
 * The status a Linux host answers for each failure: its mapping from errno and from its name
 * checks (docs/protocol/hgfs.md, "Server role": "Statuses from errors", "Names and confinement").
 */
import { HgfsStatus } from '../constants.js';
import { PathRefused, type RefusalKind } from './paths.js';

const BY_CODE: Record<string, number> = {
  ENOENT: HgfsStatus.NO_SUCH_FILE_OR_DIR,
  EBADF: HgfsStatus.INVALID_HANDLE,
  EPERM: HgfsStatus.OPERATION_NOT_PERMITTED,
  EISDIR: HgfsStatus.FILE_EXISTS,
  EEXIST: HgfsStatus.FILE_EXISTS,
  ENOTDIR: HgfsStatus.NOT_DIRECTORY,
  ENOTEMPTY: HgfsStatus.DIR_NOT_EMPTY,
  EPROTO: HgfsStatus.PROTOCOL_ERROR,
  EACCES: HgfsStatus.ACCESS_DENIED,
  EINVAL: HgfsStatus.INVALID_NAME,
  ENOSPC: HgfsStatus.NO_SPACE,
  EOPNOTSUPP: HgfsStatus.OPERATION_NOT_SUPPORTED,
  ENOTSUP: HgfsStatus.OPERATION_NOT_SUPPORTED,
  ENAMETOOLONG: HgfsStatus.NAME_TOO_LONG,
  EXDEV: HgfsStatus.NOT_SAME_DEVICE,
};

/** A refused name's status: `.`/`..` fail CPName conversion (EINVAL), an escape is EACCES. */
const BY_REFUSAL: Record<RefusalKind, number> = {
  'invalid-name': HgfsStatus.INVALID_NAME,
  'no-share': HgfsStatus.NO_SUCH_FILE_OR_DIR,
  'not-found': HgfsStatus.NO_SUCH_FILE_OR_DIR,
  'not-directory': HgfsStatus.NOT_DIRECTORY,
  escape: HgfsStatus.ACCESS_DENIED,
  'too-long': HgfsStatus.NAME_TOO_LONG,
};

/** A failure raised while serving a request, already carrying the status to answer. */
export class HgfsFailure extends Error {
  override readonly name = 'HgfsFailure';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The status for an error a request's handler threw: errno codes, refusals, failures; else rethrows. */
export function statusOf(e: unknown): number {
  if (e instanceof HgfsFailure) return e.status;
  if (e instanceof PathRefused) return BY_REFUSAL[e.kind];
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return BY_CODE[code] ?? HgfsStatus.GENERIC_ERROR;
  throw e;
}

/** A Node errno code as the error a handler throws (so statusOf maps it like a system call's). */
export function errnoError(code: string, message: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: ${message}`);
  e.code = code;
  return e;
}
