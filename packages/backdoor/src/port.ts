/**
 * The transport contract every backdoor host implements: the native instructions
 * (`@vmw9/backdoor-native`), the simulated host (`@vmw9/vmx-sim`) in-process or over a socket.
 * Consumers (msgchan, rpc, fs) take a `BackdoorPort` by injection and never import native code.
 */

/** The x86 register set of a backdoor call. Every value is a uint32. */
export interface Registers {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
  esi: number;
  edi: number;
  ebp: number;
}

export const REGISTER_NAMES = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi', 'ebp'] as const;
export type RegisterName = (typeof REGISTER_NAMES)[number];

/**
 * Largest single high-bandwidth transfer a port accepts. The protocol carries message sizes in a
 * 32-bit register, but no GuestMsg payload is anywhere near this: guest→host messages stop at
 * 64 KiB and the simulator caps host→guest messages far below. A larger buffer is a caller bug.
 */
export const HB_MAX_BYTES = 256 * 1024 * 1024;

export interface BackdoorPort {
  /**
   * Low-bandwidth call (`in eax, dx` on port 0x5658). Takes the full register set and returns the
   * registers after the call, each masked to 32 bits. The caller supplies eax (normally the magic)
   * and dx; this layer does not rewrite them, so tests can send a wrong magic on purpose.
   */
  call(regs: Registers): Promise<Registers>;
  /**
   * High-bandwidth guest→host transfer (`rep outsb` on port 0x5659) of all of `data`.
   * Register roles (HB OUT): ebx = status/cmd, edx.hi = channel, edi = cookie low, ebp = cookie high;
   * esi and ecx are the buffer and count, supplied by the transport from `data`.
   */
  hbOut(regs: Registers, data: Uint8Array): Promise<Registers>;
  /**
   * High-bandwidth host→guest transfer (`rep insb` on port 0x5659) filling all of `into`.
   * Register roles (HB IN): esi = cookie high, ebp = cookie low; edi and ecx are supplied by the transport.
   */
  hbIn(regs: Registers, into: Uint8Array): Promise<Registers>;
  /** Releases whatever the transport holds (a socket, nothing for native). */
  close?(): Promise<void> | void;
  /**
   * Only for a port that wraps another: runs a multi-call sequence in the inner port's turn
   * (`exclusive(inner, fn)`, exclusive.ts). Transports leave it out.
   */
  exclusive?<T>(fn: () => Promise<T>): Promise<T>;
}

/** True when `v` is an integer in [0, 2^32): `>>> 0` maps exactly those numbers to themselves. */
export function isUint32(v: unknown): v is number {
  return typeof v === 'number' && v >>> 0 === v;
}

/** Throws a TypeError naming the argument unless `v` is a uint32. */
export function checkUint32(v: unknown, what: string): number {
  if (!isUint32(v)) {
    throw new TypeError(`${what} must be an integer in 0..0xFFFFFFFF (uint32), got ${describe(v)}`);
  }
  return v;
}

/** Validates a full register set before it reaches a port: every register present and a uint32. */
export function checkRegisters(regs: unknown, what = 'registers'): Registers {
  // Fast path for the hot loop: no strings are built unless something is wrong.
  if (typeof regs === 'object' && regs !== null) {
    const r = regs as Registers;
    if (
      isUint32(r.eax) &&
      isUint32(r.ebx) &&
      isUint32(r.ecx) &&
      isUint32(r.edx) &&
      isUint32(r.esi) &&
      isUint32(r.edi) &&
      isUint32(r.ebp)
    ) {
      return r;
    }
  }
  if (typeof regs !== 'object' || regs === null) {
    throw new TypeError(
      `${what} must be an object with eax, ebx, ecx, edx, esi, edi and ebp, got ${describe(regs)}`,
    );
  }
  const r = regs as Record<string, unknown>;
  for (const name of REGISTER_NAMES) checkUint32(r[name], `${what}.${name}`);
  return regs as Registers;
}

/** Validates an HB buffer: a Uint8Array no larger than HB_MAX_BYTES. */
export function checkHbBuffer(buf: unknown, what: string): Uint8Array {
  if (!(buf instanceof Uint8Array))
    throw new TypeError(`${what} must be a Uint8Array (or Buffer), got ${describe(buf)}`);
  if (buf.byteLength > HB_MAX_BYTES) {
    throw new TypeError(
      `${what} is ${buf.byteLength} bytes, over the ${HB_MAX_BYTES}-byte high-bandwidth limit`,
    );
  }
  return buf;
}

/** Masks every register to 32 bits, the way a host's answer must be read. */
export function maskRegisters(r: Registers): Registers {
  return {
    eax: r.eax >>> 0,
    ebx: r.ebx >>> 0,
    ecx: r.ecx >>> 0,
    edx: r.edx >>> 0,
    esi: r.esi >>> 0,
    edi: r.edi >>> 0,
    ebp: r.ebp >>> 0,
  };
}

/** A register set of zeros with the magic in eax, for building calls. */
export function zeroRegisters(): Registers {
  return { eax: 0, ebx: 0, ecx: 0, edx: 0, esi: 0, edi: 0, ebp: 0 };
}

/** Formats registers as `eax=… ebx=…` in hex, for logs and error messages. */
export function formatRegisters(r: Registers): string {
  return REGISTER_NAMES.map((n) => `${n}=${(r[n] >>> 0).toString(16).padStart(8, '0')}`).join(' ');
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'bigint') return `${v}n (a bigint)`;
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `a ${v.byteLength}-byte buffer`;
  return typeof v;
}
