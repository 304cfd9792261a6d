/** One outstanding request and the reply a handler produces for it. */
import { Errno, NinepError } from './errors.js';
import type { RMessage, TMessage } from './messages.js';

/** The reply a handler produces: an R-message without its tag. */
export type ReplyBody = RMessage extends infer R ? (R extends RMessage ? Omit<R, 'tag'> : never) : never;

const interrupted = () => new NinepError(Errno.EINTR);

/** One outstanding request. */
export class Request {
  /** Tags of Tflushes to answer right after this request's reply (or instead of it). */
  readonly flushes: number[] = [];
  /** Set when no reply may be sent any more (flushed past its grace, Tversion, connection gone). */
  dead = false;
  /** Set by Tflush or the connection's end. */
  aborted = false;
  /** Applied only if the reply is actually sent: fid-table changes such as a walk's newfid. */
  commit?: () => void;
  // Made on first use: most requests finish without anyone listening for an abort, and an
  // AbortController per request is a measurable share of a small request's cost.
  private controller?: AbortController;

  constructor(
    readonly tag: number,
    readonly msg: TMessage,
  ) {}

  /** Aborted when the request is flushed or its connection ends; blocking handlers listen to it. */
  get signal(): AbortSignal {
    this.controller ??= new AbortController();
    if (this.aborted && !this.controller.signal.aborted) this.controller.abort(interrupted());
    return this.controller.signal;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller?.abort(interrupted());
  }
}
