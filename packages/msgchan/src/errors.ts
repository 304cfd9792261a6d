import { BackdoorError, MAX_GUEST_MESSAGE, MessageStatus } from '@vmw9/backdoor';

/** The GuestMsg steps, for errors and logs. */
export type Step =
  | 'OPEN'
  | 'SENDSIZE'
  | 'SENDPAYLOAD'
  | 'HBOUT'
  | 'RECVSIZE'
  | 'RECVPAYLOAD'
  | 'HBIN'
  | 'RECVSTATUS'
  | 'CLOSE';

/** Names of the status bits set in `status`, e.g. ['CPT'] or ['SUCCESS', 'HB']. */
export function statusNames(status: number): string[] {
  return Object.entries(MessageStatus)
    .filter(([, bit]) => (status & bit) !== 0)
    .map(([name]) => name);
}

/**
 * A GuestMsg step failed. `status` holds the host's status bits (ecx.hi, or ebx.hi for HB).
 * `requestComplete` says whether the host had the whole guest message when it failed: if not,
 * nothing was executed and sending again is safe; if so, it may have been executed once.
 */
export class MessageError extends BackdoorError {
  override name = 'MessageError';
  constructor(
    readonly step: Step,
    readonly status: number,
    readonly channel: number | null,
    readonly requestComplete: boolean,
    detail = '',
  ) {
    const bits = statusNames(status);
    super(
      `GuestMsg ${step} failed on channel ${channel ?? '-'}: status 0x${status.toString(16)} (${bits.length ? bits.join('|') : 'no SUCCESS'})${detail ? `: ${detail}` : ''}`,
    );
  }
}

/** A message over a size limit, refused before anything was sent (or acknowledged as failed). */
export class MessageTooLarge extends BackdoorError {
  override name = 'MessageTooLarge';
  constructor(
    readonly direction: 'guest-to-host' | 'host-to-guest',
    readonly size: number,
    readonly limit: number,
  ) {
    super(
      `a ${direction} message of ${size} bytes is over the ${limit}-byte limit${direction === 'guest-to-host' && limit === MAX_GUEST_MESSAGE ? ' (GUESTMSG_MAX_IN_SIZE)' : ''}`,
    );
  }
}

/** The channel was closed (by us, or by the host) and cannot carry messages any more. */
export class ChannelClosed extends BackdoorError {
  override name = 'ChannelClosed';
}
