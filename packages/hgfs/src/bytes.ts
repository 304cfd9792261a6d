import { HgfsDecodeError, HgfsEncodeError } from './errors.js';

/**
 * Reads little-endian fields from a packet, checking each against the bytes present first, so a
 * short or lying packet ends in an HgfsDecodeError naming the field, never in a RangeError.
 */
export class Reader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly op: number | undefined,
    /** Offset of `bytes[0]` in the whole packet, for error messages. */
    readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  fail(field: string, offset: number, reason: string): never {
    throw new HgfsDecodeError(this.op, field, this.base + offset, reason);
  }

  /** Throws unless `size` bytes are present at `offset`. */
  need(field: string, offset: number, size: number): void {
    if (offset < 0 || size < 0 || offset + size > this.bytes.length) {
      this.fail(field, offset, `needs ${size} bytes, ${Math.max(0, this.bytes.length - offset)} present`);
    }
  }

  u8(field: string, offset: number): number {
    this.need(field, offset, 1);
    return this.view.getUint8(offset);
  }

  u32(field: string, offset: number): number {
    this.need(field, offset, 4);
    return this.view.getUint32(offset, true);
  }

  u64(field: string, offset: number): bigint {
    this.need(field, offset, 8);
    return this.view.getBigUint64(offset, true);
  }

  /** A view of `size` bytes at `offset` (no copy; bounded by the input). */
  slice(field: string, offset: number, size: number): Uint8Array {
    this.need(field, offset, size);
    return this.bytes.subarray(offset, offset + size);
  }

  /** A reader of the bytes from `offset` on, keeping packet offsets in errors. */
  from(offset: number): Reader {
    this.need('body', offset, 0);
    return new Reader(this.bytes.subarray(offset), this.op, this.base + offset);
  }
}

const U32_MAX = 0xffffffff;
const U64_MAX = 0xffffffffffffffffn;

/** Writes little-endian fields into a buffer of a size known in advance. */
export class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(
    size: number,
    readonly op: number | undefined,
  ) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  private check(field: string, ok: boolean, value: unknown, range: string): void {
    if (!ok) throw new HgfsEncodeError(this.op, field, `${String(value)} is not ${range}`);
  }

  u8(field: string, offset: number, value: number): void {
    this.check(field, Number.isInteger(value) && value >= 0 && value <= 0xff, value, 'a u8');
    this.view.setUint8(offset, value);
  }

  u32(field: string, offset: number, value: number): void {
    this.check(field, Number.isInteger(value) && value >= 0 && value <= U32_MAX, value, 'a u32');
    this.view.setUint32(offset, value, true);
  }

  u64(field: string, offset: number, value: bigint): void {
    this.check(field, typeof value === 'bigint' && value >= 0n && value <= U64_MAX, value, 'a u64');
    this.view.setBigUint64(offset, value, true);
  }

  put(offset: number, data: Uint8Array): void {
    this.bytes.set(data, offset);
  }
}
