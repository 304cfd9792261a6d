/**
 * Host operations that take several backdoor calls on state the host keeps once per VM, not once
 * per caller: the legacy clipboard (a length, then 4-byte pieces from a position the host keeps),
 * the vmmouse (a status word, then the queued words it counted), a read-modify-write of the GUI
 * options. Two such sequences interleaved on one VM corrupt each other, so each runs inside
 * `exclusive(port, …)`: one at a time per port, in the order they asked (docs/protocol/backdoor.md
 * §15). Single calls and GuestMsg channels (whose state is per channel and which keep their own
 * queue) need no such turn.
 */
import { Lock } from './lock.js';
import type { BackdoorPort } from './port.js';

const queues = new WeakMap<BackdoorPort, Lock>();

/**
 * Runs `fn`, which makes a multi-call sequence on `port`, when no other such sequence on that port
 * runs. A port that wraps another forwards its `exclusive` to the inner port's, so every wrapper
 * of one port shares one queue. Not reentrant: `fn` makes its calls directly, never through
 * another function that takes the turn.
 */
export function exclusive<T>(port: BackdoorPort, fn: () => Promise<T>): Promise<T> {
  if (port.exclusive) return port.exclusive(fn);
  let q = queues.get(port);
  if (!q) {
    q = new Lock();
    queues.set(port, q);
  }
  return q.run(fn);
}
