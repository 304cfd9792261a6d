/** Base class of every error this package throws on its own account. */
export class DndCpError extends Error {
  override name = 'DndCpError';
}

/**
 * Bytes from a peer that are not a valid packet, message or clipboard. `field` names the part at
 * fault (e.g. 'payloadSize', 'clipboard.TEXT'), `offset` where it starts in the bytes given.
 */
export class DndCpDecodeError extends DndCpError {
  override name = 'DndCpDecodeError';
  constructor(
    readonly field: string,
    readonly reason: string,
    readonly offset?: number,
  ) {
    super(`DnD/CP: ${field}${offset === undefined ? '' : ` at offset ${offset}`}: ${reason}`);
  }
}

/** Something the caller asked to send cannot be encoded (a number out of range, a NUL in a name). */
export class DndCpEncodeError extends DndCpError {
  override name = 'DndCpEncodeError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`DnD/CP: cannot encode ${field}: ${reason}`);
  }
}

/**
 * A binary or clipboard larger than the peer accepts. `limit` is the largest size allowed
 * (inclusive), `size` what was offered.
 */
export class DndCpLimitError extends DndCpError {
  override name = 'DndCpLimitError';
  constructor(
    readonly what: string,
    readonly size: number,
    readonly limit: number,
    /** Whose limit it is, for the message: the receiving peer's. */
    readonly whose: 'host' | 'guest' = 'host',
  ) {
    super(`DnD/CP: ${what} of ${size} bytes is over the ${whose}'s limit of ${limit} bytes`);
  }
}

/** A GuestRPC call failed: the host answered with failure, or the sender threw (`cause`). */
export class DndCpRpcError extends DndCpError {
  override name = 'DndCpRpcError';
  constructor(
    readonly command: string,
    readonly reply: string,
    options?: { cause?: unknown },
  ) {
    super(`DnD/CP: RPCI ${command} failed${reply ? `: ${reply}` : ''}`, options);
  }
}
