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
  /** Set by Tflush, a Tclunk of its fid, or the connection's end. */
  aborted = false;
  /**
   * Set by Tflush: a flushed request that ends in an error gets no reply of its own (only the
   * Rflush). A request aborted because its fid was clunked is answered with its error.
   */
  flushed = false;
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
    if (this.aborted && !this.controller.signal.aborted)
      this.controller.abort(this.abortReason ?? interrupted());
    return this.controller.signal;
  }

  private endListeners?: Array<() => void>;
  private isEnded = false;

  /** Runs `fn` once the request has ended, answered or not. */
  onEnd(fn: () => void): void {
    if (this.isEnded) {
      fn();
      return;
    }
    this.endListeners ??= [];
    this.endListeners.push(fn);
  }

  /** Marks the request ended (called once by the connection; later calls do nothing). */
  ended(): void {
    if (this.isEnded) return;
    this.isEnded = true;
    for (const fn of this.endListeners?.splice(0) ?? []) fn();
  }

  abort(reason: NinepError = interrupted()): void {
    if (this.aborted) return;
    this.aborted = true;
    this.abortReason = reason;
    this.controller?.abort(reason);
  }

  private abortReason?: NinepError;
}
