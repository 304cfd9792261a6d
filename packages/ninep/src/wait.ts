/**
 * The one blocking step of every file that waits (event queues, watched values, polls): wait for a
 * wake-up, or give up when the request's AbortSignal fires (Tflush, the connection closing).
 */
import { Errno, p9err } from './errors.js';

/**
 * Resolves when `arm`'s `wake` is called; rejects with the signal's reason (EINTR by default) when
 * `signal` aborts first. `arm` registers `wake` wherever the awaited thing will call it and returns
 * how to unregister it; that is called exactly once, whichever way the wait ends.
 */
export function abortableWait(signal: AbortSignal, arm: (wake: () => void) => () => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason ?? p9err(Errno.EINTR));
      return;
    }
    let settled = false;
    let disarm: (() => void) | undefined;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      disarm?.();
      return true;
    };
    const onAbort = () => {
      if (settle()) reject(signal.reason ?? p9err(Errno.EINTR));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    disarm = arm(() => {
      if (settle()) resolve();
    });
    // `arm` may have woken us at once, before `disarm` was known.
    if (settled) disarm();
  });
}

/** Sleeps `ms` milliseconds unless `signal` aborts first (then rejects like abortableWait). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return abortableWait(signal, (wake) => {
    const timer = setTimeout(wake, ms);
    return () => clearTimeout(timer);
  });
}
