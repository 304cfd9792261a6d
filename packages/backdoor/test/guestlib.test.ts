import { describe, expect, it } from 'vitest';
import {
  decodeGuestLibHeader,
  decodeGuestLibV2,
  decodeGuestLibV3,
  encodeGuestLibV2,
  encodeGuestLibV3,
  GUESTLIB_V2_SIZE,
  GuestLibStat,
  type GuestLibStats,
  GuestLibWireError,
  guestLibStat,
  parseGuestLibValue,
} from '../src/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('the guestlib statistic table', () => {
  it('has ids 1–38 in order, with guestlibV3.x names and types', () => {
    expect(GuestLibStat.map((s) => s.id)).toEqual(Array.from({ length: 38 }, (_, i) => i + 1));
    expect(guestLibStat('MEM_BALLOONED_MB')).toEqual({ id: 12, name: 'MEM_BALLOONED_MB', type: 'u32' });
    expect(guestLibStat('MEM_TARGET_SIZE_MB')?.type).toBe('u64');
    expect(guestLibStat('RESOURCE_POOL_PATH')).toMatchObject({ id: 18, type: 'string' });
    expect(guestLibStat('RESOURCE_POOL_PATH_LONG')).toMatchObject({ id: 37, type: 'bytes' });
    expect(guestLibStat('MEM_SHARES_64')).toMatchObject({ id: 38, type: 'u64' });
    expect(guestLibStat('NOPE')).toBeUndefined();
  });

  it('parses values by type and refuses what does not fit', () => {
    expect(parseGuestLibValue(guestLibStat('MEM_LIMIT_MB')!, '2048')).toBe(2048);
    expect(parseGuestLibValue(guestLibStat('CPU_USED_MS')!, '18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(parseGuestLibValue(guestLibStat('RESOURCE_POOL_PATH')!, '/pool a')).toBe('/pool a');
    expect(() => parseGuestLibValue(guestLibStat('MEM_LIMIT_MB')!, '4294967296')).toThrow(RangeError);
    expect(() => parseGuestLibValue(guestLibStat('MEM_LIMIT_MB')!, '-1')).toThrow(/decimal/);
    expect(() => parseGuestLibValue(guestLibStat('MEM_LIMIT_MB')!, '0x10')).toThrow(/decimal/);
  });
});

describe('V3', () => {
  it('encodes the golden bytes: LE header and size, then XDR count and (id, valid, value)', () => {
    const b = encodeGuestLibV3({
      sessionId: 0x1122334455667788n,
      stats: { CPU_RESERVATION_MHZ: 0x1234 },
      count: 4,
    });
    expect(b).toEqual(
      hex(`
        03000000 8877665544332211
        38000000
        00000004
        00000001 00000001 00001234
        00000002 00000000 00000000
        00000003 00000000 00000000
        00000004 00000000 0000000000000000`),
    );
  });

  it('encodes a string and bytes with their XDR lengths and padding', () => {
    const b = encodeGuestLibV3({
      sessionId: 1n,
      stats: { RESOURCE_POOL_PATH: '/ab', RESOURCE_POOL_PATH_LONG: Buffer.from('xyzzy') },
    });
    const path = b.indexOf(hex('00000012 00000001 00000003'));
    expect(b.subarray(path + 12, path + 16)).toEqual(Buffer.from('/ab\0', 'latin1'));
    const long = b.indexOf(hex('00000025 00000001 00000005'));
    expect(b.subarray(long + 12, long + 20)).toEqual(Buffer.from('xyzzy\0\0\0', 'latin1'));
  });

  it('round-trips every statistic; an invalid one is absent, not 0', () => {
    const stats: GuestLibStats = {};
    for (const s of GuestLibStat) {
      if (s.name === 'MEM_SWAPPED_MB') continue;
      stats[s.name] =
        s.type === 'u32'
          ? s.id * 1000
          : s.type === 'u64'
            ? BigInt(s.id) << 40n
            : s.type === 'string'
              ? `/p${s.id}`
              : Buffer.from([s.id]);
    }
    const d = decodeGuestLibV3(encodeGuestLibV3({ sessionId: 7n, stats }));
    expect(d).toMatchObject({ version: 3, sessionId: 7n, statCount: 38 });
    expect({
      ...d.stats,
      RESOURCE_POOL_PATH_LONG: Buffer.from(d.stats.RESOURCE_POOL_PATH_LONG as Uint8Array),
    }).toEqual(stats);
    expect('MEM_SWAPPED_MB' in d.stats).toBe(false);
  });

  it('keeps only the statistics an older host sends', () => {
    const d = decodeGuestLibV3(
      encodeGuestLibV3({ sessionId: 7n, stats: { MEM_LIMIT_MB: 5, HOST_MHZ: 9 }, count: 6 }),
    );
    expect(d.statCount).toBe(6);
    expect(d.stats).toEqual({ HOST_MHZ: 9 });
  });

  it('reads a newer host by cutting its count to the known statistics', () => {
    const b = encodeGuestLibV3({ sessionId: 7n, stats: { MEM_SHARES_64: 3n } });
    b.writeUInt32BE(40, 16); // count: two statistics this side does not know
    const d = decodeGuestLibV3(b);
    expect(d.statCount).toBe(38);
    expect(d.stats.MEM_SHARES_64).toBe(3n);
  });

  it('refuses an id out of order, a data size past the end, a truncated body', () => {
    const good = encodeGuestLibV3({ sessionId: 7n, stats: {}, count: 3 });
    const swapped = Buffer.from(good);
    swapped.writeInt32BE(3, 20 + 12); // the second statistic says id 3
    expect(() => decodeGuestLibV3(swapped)).toThrow(/statistic 2 expected, got id 3/);
    const long = Buffer.from(good);
    long.writeUInt32LE(good.length, 12);
    expect(() => decodeGuestLibV3(long)).toThrow(GuestLibWireError);
    const short = Buffer.from(good.subarray(0, good.length - 4));
    short.writeUInt32LE(short.length - 16, 12);
    expect(() => decodeGuestLibV3(short)).toThrow(/truncated/);
    expect(() => decodeGuestLibV3(encodeGuestLibV2({ sessionId: 1n, stats: {} }))).toThrow(/says version 2/);
  });
});

describe('V2', () => {
  it('is 669 bytes, little-endian: 8-byte u32 statistics (StatUint32 is not packed), 12-byte u64, a 513-byte path', () => {
    expect(GUESTLIB_V2_SIZE).toBe(669);
    const b = encodeGuestLibV2({
      sessionId: 0xabn,
      stats: {
        CPU_RESERVATION_MHZ: 0x01020304,
        CPU_USED_MS: 0x0a0b0c0dn,
        MEM_BALLOONED_MB: 300,
        RESOURCE_POOL_PATH: '/rp',
      },
    });
    expect(b.length).toBe(669);
    expect(b.subarray(0, 12)).toEqual(hex('02000000 ab00000000000000'));
    expect(b.subarray(12, 20)).toEqual(hex('01 000000 04030201'));
    expect(b.subarray(36, 48)).toEqual(hex('01 000000 0d0c0b0a00000000'));
    // memBalloonedMB: header, 3 u32, 1 u64, hostMHz, 6 u32 before it.
    const balloon = 12 + 3 * 8 + 12 + 8 + 6 * 8;
    expect(b.subarray(balloon, balloon + 8)).toEqual(hex('01 000000 2c010000'));
    expect(b.subarray(156, 161)).toEqual(Buffer.from('\x01/rp\0', 'latin1'));
  });

  it('round-trips statistics 1–18 and drops the ones V2 cannot carry', () => {
    const stats: GuestLibStats = {
      MEM_LIMIT_MB: 4096,
      ELAPSED_MS: 2n ** 63n,
      RESOURCE_POOL_PATH: 'x'.repeat(511),
    };
    const d = decodeGuestLibV2(encodeGuestLibV2({ sessionId: 9n, stats: { ...stats, CPU_STOLEN_MS: 1n } }));
    expect(d).toEqual({ version: 2, sessionId: 9n, stats, statCount: 18 });
  });

  it('refuses any other length, as libguestlib does', () => {
    const b = encodeGuestLibV2({ sessionId: 9n, stats: {} });
    expect(() => decodeGuestLibV2(Buffer.concat([b, Buffer.alloc(1)]))).toThrow(/669 bytes, got 670/);
    expect(() => decodeGuestLibV2(b.subarray(0, 11))).toThrow(/at least 12/);
    expect(decodeGuestLibHeader(b)).toEqual({ version: 2, sessionId: 9n });
  });
});

/** A fixed-seed generator: the fuzz runs the same inputs every time. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

describe('decoder fuzz', () => {
  it('either decodes or throws GuestLibWireError, for 3000 mutated and random replies', () => {
    const rand = prng(0x9e37);
    const seeds = [
      encodeGuestLibV3({
        sessionId: 5n,
        stats: { MEM_BALLOONED_MB: 1, RESOURCE_POOL_PATH: '/a', RESOURCE_POOL_PATH_LONG: Buffer.from('bb') },
      }),
      encodeGuestLibV2({ sessionId: 5n, stats: { MEM_BALLOONED_MB: 1, RESOURCE_POOL_PATH: '/a' } }),
    ];
    let decoded = 0;
    for (let run = 0; run < 3000; run++) {
      const base = seeds[run % 2]!;
      let b: Buffer;
      if (run % 10 === 9)
        b = Buffer.from(Array.from({ length: Math.floor(rand() * 700) }, () => Math.floor(rand() * 256)));
      else {
        b = Buffer.from(base.subarray(0, rand() < 0.2 ? Math.floor(rand() * base.length) : base.length));
        for (let n = Math.floor(rand() * 4); n >= 0 && b.length > 0; n--)
          b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
      }
      for (const decode of [decodeGuestLibV3, decodeGuestLibV2]) {
        try {
          const d = decode(b);
          expect(d.statCount).toBeLessThanOrEqual(38);
          decoded++;
        } catch (e) {
          expect(e).toBeInstanceOf(GuestLibWireError);
        }
      }
    }
    expect(decoded).toBeGreaterThan(100);
  });
});
