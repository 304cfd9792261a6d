/**
 * Typed errors. A malformed frame only ever produces a DecodeError naming the message and field;
 * a file-server failure is a NinepError carrying both a Plan 9 string and a Linux errno, so one
 * object can become Rerror (9P2000), Rerror+errno (.u) or Rlerror (.L).
 */

/** The frame does not decode: `field` is the message field at fault (e.g. `Twalk.wname[2]`). */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    readonly reason: string,
    /** Message name (or `type 42` for an unknown type) and field, e.g. `Tread.count`. */
    readonly field: string,
    /** Byte offset of the field in the frame. */
    readonly offset: number,
    /** The frame's tag when its header was intact, so a server can still answer with an error. */
    readonly tag?: number,
  ) {
    super(`${field} at byte ${offset}: ${reason}`);
  }
}

/** A message cannot be encoded (a value out of range for its wire width, a string too long, …). */
export class EncodeError extends Error {
  override readonly name = 'EncodeError';
  constructor(
    readonly reason: string,
    readonly field: string,
  ) {
    super(`${field}: ${reason}`);
  }
}

/** Linux errno values used on the wire (Rlerror ecode, Rerror errno in .u). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENOTDIR: 20,
  ENFILE: 23,
  EMFILE: 24,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  ERANGE: 34,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  EPROTO: 71,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  ECONNREFUSED: 111,
  ETIMEDOUT: 110,
} as const;

/**
 * Strings Linux maps to the errno by exact match on 9P2000 mounts (net/9p/error.c), which Plan 9
 * programs also read well. Used when an error is raised with an errno and no text.
 */
const ERRNO_TEXT: Record<number, string> = {
  1: 'Operation not permitted',
  2: 'file does not exist',
  4: 'Interrupted system call',
  5: 'i/o error',
  9: 'fid unknown or out of range',
  11: 'Resource temporarily unavailable',
  12: 'Cannot allocate memory',
  13: 'permission denied',
  16: 'Device or resource busy',
  17: 'file already exists',
  18: 'Invalid cross-device link',
  20: 'not a directory',
  21: 'Is a directory',
  23: 'Too many open files in system',
  24: 'Too many open files',
  22: 'Invalid argument',
  27: 'File too large',
  28: 'No space left on device',
  29: 'Illegal seek',
  30: 'read only file system',
  34: 'Numerical result out of range',
  36: 'File name too long',
  37: 'No locks available',
  38: 'Function not implemented',
  39: 'directory is not empty',
  61: 'No data available',
  71: 'Protocol error',
  90: 'Message too long',
  95: 'Operation not supported',
  110: 'Connection timed out',
  111: 'Connection refused',
};

/** A file-server error: `message` is the Plan 9 error string, `errno` the Linux errno. */
export class NinepError extends Error {
  override readonly name = 'NinepError';
  constructor(
    readonly errno: number,
    message?: string,
  ) {
    super(message ?? ERRNO_TEXT[errno] ?? `error ${errno}`);
  }
}

/** Shorthand: `throw p9err(Errno.ENOENT)` or `p9err(Errno.EINVAL, 'bad command "x"')`. */
export function p9err(errno: number, message?: string): NinepError {
  return new NinepError(errno, message);
}

/** The server answered a request with Rerror/Rlerror (client side). */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
  constructor(
    /** The request that failed, e.g. `Twalk`. */
    readonly request: string,
    /** Linux errno (from Rlerror, or the .u errno); 0 when the server sent only a string. */
    readonly errno: number,
    /** The server's error string (9P2000/.u); for .L the errno's usual text. */
    readonly ename: string,
  ) {
    super(`${request}: ${ename}${errno ? ` (errno ${errno})` : ''}`);
  }
}

/** Best-effort errno for a Plan 9 error string (the inverse of ERRNO_TEXT). */
export function errnoForText(text: string): number {
  for (const [k, v] of Object.entries(ERRNO_TEXT)) if (v === text) return Number(k);
  return 0;
}

export function errnoText(errno: number): string {
  return ERRNO_TEXT[errno] ?? `error ${errno}`;
}

/** Converts anything thrown by a handler into a NinepError (unknown exceptions become EIO). */
export function toNinepError(err: unknown): NinepError {
  if (err instanceof NinepError) return err;
  if (err instanceof Error && err.name === 'AbortError') return new NinepError(Errno.EINTR);
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code in Errno) {
    return new NinepError(Errno[code as keyof typeof Errno], err instanceof Error ? err.message : undefined);
  }
  return new NinepError(Errno.EIO, err instanceof Error ? err.message : String(err));
}
