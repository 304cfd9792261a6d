// HGFS times are Windows NT times: 100 ns units since 1601-01-01 UTC, as u64 (docs/protocol/hgfs.md §2.5).

/** NT time of the Unix epoch (1970-01-01). */
export const UNIX_EPOCH_NT = 116444736000000000n;
const NS_PER_TICK = 100n;
const U64_MAX = 0xffffffffffffffffn;

/** Nanoseconds since the Unix epoch (negative before it) of an NT time. Exact. */
export function ntTimeToUnixNs(nt: bigint): bigint {
  return (nt - UNIX_EPOCH_NT) * NS_PER_TICK;
}

/**
 * NT time of nanoseconds since the Unix epoch, rounded down to 100 ns. Clamped to the u64 range
 * (a time before 1601 becomes 0), so the result is always encodable.
 */
export function unixNsToNtTime(ns: bigint): bigint {
  const ticks = ns >= 0n ? ns / NS_PER_TICK : -((-ns + NS_PER_TICK - 1n) / NS_PER_TICK);
  const nt = ticks + UNIX_EPOCH_NT;
  if (nt < 0n) return 0n;
  return nt > U64_MAX ? U64_MAX : nt;
}

/** The Date of an NT time (millisecond precision). */
export function ntTimeToDate(nt: bigint): Date {
  return new Date(Number((nt - UNIX_EPOCH_NT) / 10_000n));
}

/** The NT time of a Date. */
export function dateToNtTime(date: Date): bigint {
  return unixNsToNtTime(BigInt(date.getTime()) * 1_000_000n);
}
