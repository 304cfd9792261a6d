/**
 * Long-running commands (agent, serve, sim) stop on SIGINT/SIGTERM. Started through a package
 * manager script (`pnpm -s vmw9 agent`), the signal reaches the package manager. pnpm passes it to
 * the script's `sh -c`, and Debian's dash dies of it without passing it on, so the repository's
 * scripts say `exec node …`: then we are the shell and get the signal ourselves. For any other
 * script that does not exec, our parent process changes when the shell dies (we are re-parented),
 * and we stop as if signalled, so no orphan daemon is left holding its socket.
 */
export function stopSignal(): AbortSignal {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  if (process.env['npm_lifecycle_event']) {
    const parent = process.ppid;
    const t = setInterval(() => {
      if (process.ppid !== parent) stop();
    }, 250);
    t.unref();
    ac.signal.addEventListener('abort', () => clearInterval(t), { once: true });
  }
  ac.signal.addEventListener(
    'abort',
    () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
    { once: true },
  );
  return ac.signal;
}

/** Resolves when the signal aborts. */
export function stopped(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
