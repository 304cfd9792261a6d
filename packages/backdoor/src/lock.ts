/** A FIFO lock: callers run one at a time, in the order they asked. Not reentrant. */
export class Lock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    // The next caller waits for this one to settle, whatever its outcome.
    this.tail = result.catch(() => {});
    return result;
  }
}
