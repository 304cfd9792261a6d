/** Errors returned through 9P, with Plan 9's texts where the kernel or rio has one. */
import { UnsupportedCommand } from '@vmw9/backdoor';
import { Errno, NinepError, p9err } from 'ninep';

export const notFound = (what = 'file does not exist') => p9err(Errno.ENOENT, what);
export const badArg = (why: string) => p9err(Errno.EINVAL, why);
export const tooLarge = (why: string) => p9err(Errno.EFBIG, why);

/**
 * Turns a failure from the host into a read/write error a user can act on: an unsupported backdoor
 * command says so (never invented data); anything else keeps its message.
 */
export function hostError(e: unknown): NinepError {
  if (e instanceof NinepError) return e;
  if (e instanceof UnsupportedCommand)
    return p9err(Errno.EOPNOTSUPP, `the host does not support ${e.commandName}`);
  const err = e as Error;
  return p9err(Errno.EIO, `host: ${err?.message ?? String(e)}`);
}
