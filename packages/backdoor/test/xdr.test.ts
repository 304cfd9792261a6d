import { describe, expect, it } from 'vitest';
import { XdrError, XdrReader, XdrTruncated, XdrWriter } from '../src/index.js';

describe('XDR', () => {
  it('round-trips every item type, in 4-byte units, big-endian, zero-padded', () => {
    const data = new XdrWriter()
      .u32(0xdeadbeef)
      .i32(-2)
      .u64(0x0102030405060708n)
      .i64(-3n)
      .bool(true)
      .opaque(Buffer.from([1, 2, 3, 4, 5]))
      .fixedOpaque(Buffer.from([9, 9]))
      .string('größe')
      .optional(7, (w, v) => w.u32(v))
      .optional<number>(undefined, (w, v) => w.u32(v))
      .bytes();
    expect(data.length % 4).toBe(0);
    expect(data.subarray(0, 8).toString('hex')).toBe('deadbeeffffffffe');
    expect(data.subarray(28, 40).toString('hex')).toBe('000000050102030405000000');
    const r = new XdrReader(data);
    expect(r.u32()).toBe(0xdeadbeef);
    expect(r.i32()).toBe(-2);
    expect(r.u64()).toBe(0x0102030405060708n);
    expect(r.i64()).toBe(-3n);
    expect(r.bool()).toBe(true);
    expect([...r.opaque(5)]).toEqual([1, 2, 3, 4, 5]);
    expect([...r.fixedOpaque(2)]).toEqual([9, 9]);
    expect(r.string()).toBe('größe');
    expect(r.optional((o) => o.u32())).toBe(7);
    expect(r.optional((o) => o.u32())).toBeUndefined();
    expect(r.remaining).toBe(0);
    r.end();
  });

  it('round-trips opaque data of every length 0..9', () => {
    for (let n = 0; n < 10; n++) {
      const d = Buffer.alloc(n, 0xab);
      const enc = new XdrWriter().opaque(d).u32(1).bytes();
      expect(enc.length).toBe(4 + Math.ceil(n / 4) * 4 + 4);
      const r = new XdrReader(enc);
      expect(r.opaque().equals(d)).toBe(true);
      expect(r.u32()).toBe(1);
      r.end();
    }
  });

  it('truncated input is XdrTruncated, with where and how much', () => {
    const enc = new XdrWriter().u32(1).opaque(Buffer.alloc(6)).bytes();
    for (let cut = 0; cut < enc.length; cut++) {
      const r = new XdrReader(enc.subarray(0, cut));
      let error: unknown;
      try {
        r.u32();
        r.opaque();
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(XdrTruncated);
      expect(error).toBeInstanceOf(XdrError);
      const t = error as XdrTruncated;
      expect(t.available).toBeLessThan(t.needed);
      expect(t.offset + t.available).toBe(cut);
    }
    expect(() => new XdrReader(Buffer.alloc(6)).u64()).toThrow(XdrTruncated);
  });

  it('other bad input is XdrError: a bool not 0/1, an opaque over its limit, bytes left over', () => {
    expect(() => new XdrReader(new XdrWriter().u32(2).bytes()).bool()).toThrow(
      /bool of value 2 \(at byte 0\)/,
    );
    const big = new XdrWriter().u32(9).opaque(Buffer.alloc(20)).bytes();
    const r = new XdrReader(big);
    r.u32();
    expect(() => r.opaque(16)).toThrow(/opaque of 20 bytes over its limit 16 \(at byte 4\)/);
    expect(() => new XdrReader(Buffer.alloc(8)).end()).toThrow(XdrError);
  });

  it('the writer refuses numbers its type cannot hold', () => {
    expect(() => new XdrWriter().u32(-1)).toThrow(RangeError);
    expect(() => new XdrWriter().u32(2 ** 32)).toThrow(RangeError);
    expect(() => new XdrWriter().i32(2 ** 31)).toThrow(RangeError);
    expect(() => new XdrWriter().u32(1.5)).toThrow(RangeError);
  });
});
