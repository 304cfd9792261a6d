/**
 * Plan 9 record formats, byte for byte (docs/protocol/tree.md §1, sources: 9front devmouse.c,
 * devcons.c, rio xfid.c). Numbers are decimal text in fixed columns: `%11d ` (NUMSIZE, 12 bytes)
 * for 32-bit values and `%21lld ` (VLNUMSIZE, 22 bytes) for 64-bit ones.
 */

/** `%11d `: right-justified in 11 columns and a blank. Wider numbers overflow, as printf does. */
export function num11(n: number | bigint): string {
  return `${fitted(n, 11)} `;
}

/** An integer in at most `width` columns, right-justified; anything else would break the record. */
function fitted(n: number | bigint, width: number): string {
  const s = String(n);
  if ((typeof n === 'number' && !Number.isSafeInteger(n)) || s.length > width)
    throw new RangeError(`${s} does not fit a ${width}-column record field`);
  return s.padStart(width);
}

/** `%21lld `: right-justified in 21 columns and a blank. */
export function num21(n: number | bigint): string {
  return `${fitted(n, 21)} `;
}

/** `%11s `. */
export function str11(s: string): string {
  return `${s.padStart(11)} `;
}

export type MouseRecordType = 'm' | 'r';

/**
 * The 49-byte /dev/mouse record: `t%11d %11d %11d %11ld ` (type, x, y, buttons, msec).
 * `r` tells a program the window was resized (rio); `msec` is an unsigned millisecond stamp.
 */
export function mouseRecord(
  type: MouseRecordType,
  x: number,
  y: number,
  buttons: number,
  msec: number,
): string {
  return `${type}${num11(Math.trunc(x))}${num11(Math.trunc(y))}${num11(buttons >>> 0)}${num11(msec >>> 0)}`;
}

/** Plan 9 mouse buttons: 1 left, 2 middle, 4 right, 8 wheel up, 16 wheel down. */
export function plan9Buttons(b: {
  left?: boolean;
  middle?: boolean;
  right?: boolean;
  wheel?: number;
}): number {
  return (
    (b.left ? 1 : 0) |
    (b.middle ? 2 : 0) |
    (b.right ? 4 : 0) |
    ((b.wheel ?? 0) < 0 ? 8 : 0) |
    ((b.wheel ?? 0) > 0 ? 16 : 0)
  );
}

/** Parses a /dev/mouse write: `m x y [buttons [msec]]`, or `x y`. Null when it is not one (rio: bad format). */
export function parseMouseWrite(text: string): { x: number; y: number } | null {
  const f = text.trim().split(/\s+/);
  const nums = f[0] === 'm' ? f.slice(1) : /^m\d/.test(f[0] ?? '') ? [f[0]!.slice(1), ...f.slice(1)] : f;
  if (nums.length < 2 || nums.length > 4 || !nums.every((n) => /^-?\d+$/.test(n))) return null;
  return { x: Number(nums[0]), y: Number(nums[1]) };
}

/**
 * The 78-byte /dev/time record: `%11lud %21llud %21llud %21llud ` = seconds, nanoseconds,
 * ticks, tick frequency. Like aux/vmwarefs' bintime, ticks are nanoseconds at 1 GHz.
 */
export function timeRecord(nsec: bigint): string {
  return `${num11(nsec / 1_000_000_000n)}${num21(nsec)}${num21(nsec)}${num21(1_000_000_000n)}`;
}

/** The 24-byte #c/bintime record: nsec, ticks, fasthz, each a big-endian 64-bit integer. */
export function bintimeRecord(nsec: bigint): Buffer {
  const b = Buffer.alloc(24);
  b.writeBigUInt64BE(nsec, 0);
  b.writeBigUInt64BE(nsec, 8);
  b.writeBigUInt64BE(1_000_000_000n, 16);
  return b;
}

/** The 72-byte rio wctl record: min.x min.y max.x max.y, then two state words. */
export function wctlRecord(
  width: number,
  height: number,
  state: 'current' | 'pending',
  visible = 'visible',
): string {
  return `${num11(0)}${num11(0)}${num11(width)}${num11(height)}${str11(state)}${str11(visible)}`;
}

/** One sysstat-style line: `%11d ` per field, then a newline. */
export function statsLine(fields: readonly number[]): string {
  return `${fields.map((n) => num11(n)).join('')}\n`;
}

/** `%11d %11d `: aux/vmwarefs' pointer record (24 bytes). */
export function pointerRecord(x: number, y: number): string {
  return `${num11(x)}${num11(y)}`;
}
