import { opName, statusErrno, statusName } from './constants.js';

/** Where a reply to a request goes: enough of its header to answer it. */
export type ReplyAddress =
  | {
      readonly framing: 'v4';
      readonly requestId: number;
      readonly op: number;
      readonly sessionId: bigint;
    }
  | { readonly framing: 'legacy'; readonly requestId: number; readonly op: number };

/** Base class of every error this package throws. */
export class HgfsError extends Error {
  override name = 'HgfsError';
}

/**
 * Bytes from a peer that are not a valid HGFS packet. `field` names the part at fault and
 * `offset` where it starts in the packet. On the server side `replyTo` is set when the header
 * was sound enough to answer (with PROTOCOL_ERROR); undefined means drop the packet unanswered,
 * as open-vm-tools does.
 */
export class HgfsDecodeError extends HgfsError {
  override name = 'HgfsDecodeError';
  constructor(
    readonly op: number | undefined,
    readonly field: string,
    readonly offset: number,
    readonly reason: string,
    readonly replyTo?: ReplyAddress,
  ) {
    super(`${op === undefined ? 'HGFS packet' : opName(op)}: ${field} at offset ${offset}: ${reason}`);
  }

  /** The same error, now knowing where a reply could go. */
  withReplyTo(replyTo: ReplyAddress): HgfsDecodeError {
    return new HgfsDecodeError(this.op ?? replyTo.op, this.field, this.offset, this.reason, replyTo);
  }
}

/** Something the caller asked to send cannot be encoded (out of range, too long). */
export class HgfsEncodeError extends HgfsError {
  override name = 'HgfsEncodeError';
  constructor(
    readonly op: number | undefined,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${op === undefined ? 'HGFS' : opName(op)}: cannot encode ${field}: ${reason}`);
  }
}

/** A path component (or symlink target) the caller gave cannot travel as an HGFS name. */
export class HgfsNameError extends HgfsEncodeError {
  override name = 'HgfsNameError';
  constructor(
    readonly component: string,
    reason: string,
    field = 'fileName',
  ) {
    super(undefined, field, `${JSON.stringify(component)}: ${reason}`);
  }
}

/** The host answered a request with a status other than SUCCESS. */
export class HgfsStatusError extends HgfsError {
  override name = 'HgfsStatusError';
  readonly opName: string;
  readonly statusName: string;
  /** The Linux errno vmhgfs-fuse maps the status to. */
  readonly errno: number;
  /** Its symbolic name, e.g. 'ENOENT'. */
  readonly code: string;
  constructor(
    readonly op: number,
    readonly status: number,
    readonly path?: readonly string[],
  ) {
    const e = statusErrno(status);
    super(
      `${opName(op)}${path ? ` ${path.length === 0 ? '(root)' : path.join('/')}` : ''}: ${statusName(status)} (${e.code})`,
    );
    this.opName = opName(op);
    this.statusName = statusName(status);
    this.errno = e.errno;
    this.code = e.code;
  }
}

/** The transport failed to carry a request or bring back its reply. */
export class HgfsTransportError extends HgfsError {
  override name = 'HgfsTransportError';
  constructor(
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`HGFS transport: ${detail}`, options);
  }
}
