import type { Registers } from './port.js';

/** Base class of every backdoor error, so callers can catch the family at once. */
export class BackdoorError extends Error {
  override name = 'BackdoorError';
}

/**
 * The host does not implement a command: it answered eax = 0xFFFFFFFF, or did not put the magic
 * back in ebx where the command promises it. The registers are kept for diagnosis.
 */
export class UnsupportedCommand extends BackdoorError {
  override name = 'UnsupportedCommand';
  constructor(
    /** Command number (ecx.lo). */
    readonly command: number,
    /** Symbolic name, e.g. `GETTIMEFULL`. */
    readonly commandName: string,
    /** What the host answered. */
    readonly registers: Registers,
    why: string,
  ) {
    super(`backdoor command ${commandName} (${command}) is not supported by this host: ${why}`);
  }
}

/** No backdoor can be reached through this transport (not VMware, KVM detected, fault while probing, …). */
export class BackdoorUnavailable extends BackdoorError {
  override name = 'BackdoorUnavailable';
  constructor(
    message: string,
    /** A short machine-readable reason, e.g. `hypervisor:KVM`, `no-hypervisor`, `fault:SIGSEGV`. */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** The host answered something that breaks the protocol (a bad packet length, a vmmouse error state). */
export class ProtocolError extends BackdoorError {
  override name = 'ProtocolError';
}

/**
 * The backdoor instruction faulted: on a real guest the process would get SIGSEGV (a host that
 * restricts the backdoor from user mode, or no backdoor at all). Simulated and socket ports report
 * it as this error instead of killing the caller.
 */
export class BackdoorFault extends BackdoorError {
  override name = 'BackdoorFault';
  constructor(
    message: string,
    /** Why, e.g. `restricted`. */
    readonly reason: string,
  ) {
    super(message);
  }
}
