/**
 * XDR (RFC 4506), the encoding of GuestRPC's binary payloads: NIC info (`SetGuestInfo  10`), and
 * the guestlib statistics (docs/protocol/guestrpc.md). Big-endian 4-byte units; variable-length
 * data carries its length and is padded to a multiple of 4 with zero bytes.
 *
 * Its public home is `@vmw9/rpc`, which re-exports it. It lives here, in the bottom layer, only so
 * that `@vmw9/vmx-sim` (which rpc is tested against, so cannot depend on rpc) can decode and encode
 * the same payloads without a dependency circle.
 */

/** Input that is not the XDR expected; `offset` is where reading it failed. */
export class XdrError extends Error {
  override name = 'XdrError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at byte ${offset})`);
  }
}

/** The input ended inside an item: `needed` bytes were due at `offset`, `available` were left. */
export class XdrTruncated extends XdrError {
  override name = 'XdrTruncated';
  constructor(
    offset: number,
    readonly needed: number,
    readonly available: number,
  ) {
    super(`XDR input truncated: ${needed} bytes needed, ${available} left`, offset);
  }
}

const padding = (n: number): number => (4 - (n % 4)) % 4;
const ZEROS = Buffer.alloc(3);

/** Builds an XDR stream item by item; `bytes()` is the whole of it. */
export class XdrWriter {
  private readonly parts: Buffer[] = [];

  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`${v} is not an unsigned int`);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v, 0);
    return this.push(b);
  }

  i32(v: number): this {
    if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new RangeError(`${v} is not an int`);
    const b = Buffer.alloc(4);
    b.writeInt32BE(v, 0);
    return this.push(b);
  }

  /** An unsigned hyper. */
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v, 0);
    return this.push(b);
  }

  /** A hyper. */
  i64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(v, 0);
    return this.push(b);
  }

  bool(v: boolean): this {
    return this.u32(v ? 1 : 0);
  }

  /** `opaque<>`: the length, the bytes, the padding. */
  opaque(data: Uint8Array): this {
    return this.u32(data.length).fixedOpaque(data);
  }

  /** `opaque[n]`: the bytes and the padding, no length. */
  fixedOpaque(data: Uint8Array): this {
    this.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return this.push(ZEROS.subarray(0, padding(data.length)));
  }

  /** `string<>`, as UTF-8. */
  string(s: string): this {
    return this.opaque(Buffer.from(s, 'utf8'));
  }

  /** An optional-data (`*T`): a bool, then the value when there is one. */
  optional<T>(value: T | undefined, write: (w: this, value: T) => void): this {
    this.bool(value !== undefined);
    if (value !== undefined) write(this, value);
    return this;
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }

  private push(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
}

/** Reads an XDR stream item by item; every read past the end throws XdrTruncated. */
export class XdrReader {
  private pos = 0;

  constructor(private readonly data: Uint8Array) {}

  u32(): number {
    return this.view(4).getUint32(0);
  }

  i32(): number {
    return this.view(4).getInt32(0);
  }

  u64(): bigint {
    return this.view(8).getBigUint64(0);
  }

  i64(): bigint {
    return this.view(8).getBigInt64(0);
  }

  /** A bool: 0 or 1, anything else is an XdrError. */
  bool(): boolean {
    const at = this.pos;
    const v = this.u32();
    if (v > 1) throw new XdrError(`bool of value ${v}`, at);
    return v === 1;
  }

  /** `opaque<max>`: a length over `max` is an XdrError before anything more is read. */
  opaque(max = 0xffffffff): Buffer {
    const at = this.pos;
    const n = this.u32();
    if (n > max) throw new XdrError(`opaque of ${n} bytes over its limit ${max}`, at);
    return this.fixedOpaque(n);
  }

  /** `opaque[n]`: n bytes and their padding. */
  fixedOpaque(n: number): Buffer {
    const b = this.take(n + padding(n));
    return Buffer.from(b.buffer, b.byteOffset, n);
  }

  /** `string<max>`, as UTF-8. */
  string(max?: number): string {
    return this.opaque(max).toString('utf8');
  }

  /** An optional-data (`*T`): undefined when absent, else what `read` reads. */
  optional<T>(read: (r: this) => T): T | undefined {
    return this.bool() ? read(this) : undefined;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.data.length - this.pos;
  }

  /** Where the next read starts. */
  get offset(): number {
    return this.pos;
  }

  /** Throws XdrError unless every byte was read. */
  end(): void {
    if (this.remaining > 0) throw new XdrError(`${this.remaining} bytes after the end`, this.pos);
  }

  private take(n: number): Uint8Array {
    if (n > this.remaining) throw new XdrTruncated(this.pos, n, this.remaining);
    const b = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  private view(n: number): DataView {
    const b = this.take(n);
    return new DataView(b.buffer, b.byteOffset, n);
  }
}
