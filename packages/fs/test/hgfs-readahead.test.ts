import { describe, expect, it } from 'vitest';
import { ReadAhead, ReadAheadBudget } from '../src/hgfs/readahead.js';

const KiB = 1024;
const CHUNK = 512 * KiB;
const IOUNIT = 128 * KiB;

/** A host file of `size` bytes and a log of the reads asked of it. */
function hostFile(size: number) {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
  const asked: Array<[number, number]> = [];
  /** Offsets whose next read fails (once). */
  const failing = new Set<number>();
  const fetch = async (offset: number, length: number) => {
    asked.push([offset, length]);
    if (failing.delete(offset)) throw new Error('host gone');
    return data.subarray(offset, Math.min(size, offset + length));
  };
  return { data, asked, fetch, failing };
}

/** Reads the whole file `count` bytes at a time, as a 9P client does. */
async function readAll(ra: ReadAhead, fetch: (o: number, l: number) => Promise<Uint8Array>, generation = 0) {
  const parts: Uint8Array[] = [];
  for (let off = 0; ; ) {
    const d = await ra.read(off, IOUNIT, CHUNK, generation, fetch);
    if (d.length === 0) break;
    parts.push(d);
    off += d.length;
  }
  return Buffer.concat(parts);
}

describe('read-ahead of an open host file', () => {
  it('reads a file sequentially in whole packets, asking for the next while this one is read', async () => {
    const f = hostFile(2 * 1024 * KiB + 100);
    const budget = new ReadAheadBudget();
    const ra = new ReadAhead({ budget, lifetimeMs: 1000, now: () => 0 });
    expect((await readAll(ra, f.fetch)).equals(f.data)).toBe(true);
    // 5 packets' worth (the last short), instead of 17 reads of 128 KiB.
    expect(f.asked).toEqual([0, 1, 2, 3, 4].map((i) => [i * CHUNK, CHUNK]));
    ra.close();
    await new Promise((r) => setTimeout(r, 0));
    expect(budget.used).toBe(0);
  });

  it('asks again after a write through the tree (a new data generation) and after its lifetime', async () => {
    const f = hostFile(CHUNK * 2);
    let t = 0;
    const ra = new ReadAhead({ budget: new ReadAheadBudget(), lifetimeMs: 1000, now: () => t });
    await ra.read(0, IOUNIT, CHUNK, 0, f.fetch);
    await ra.read(IOUNIT, IOUNIT, CHUNK, 0, f.fetch);
    const before = f.asked.length; // the window at 0, and the next one asked ahead
    await ra.read(0, IOUNIT, CHUNK, 1, f.fetch);
    // Both windows were of the old data: each is asked for again.
    expect(f.asked.slice(before)).toEqual([
      [0, CHUNK],
      [CHUNK, CHUNK],
    ]);
    t = 1000;
    const expired = f.asked.length;
    await ra.read(IOUNIT, IOUNIT, CHUNK, 1, f.fetch);
    expect(f.asked[expired]).toEqual([IOUNIT, CHUNK]);
  });

  it('is off with a zero lifetime, and past its budget: reads go to the host as asked', async () => {
    const f = hostFile(CHUNK * 2);
    const off = new ReadAhead({ budget: new ReadAheadBudget(), lifetimeMs: 0 });
    expect(Buffer.from(await off.read(10, 100, CHUNK, 0, f.fetch)).equals(f.data.subarray(10, 110))).toBe(
      true,
    );
    expect(f.asked).toEqual([[10, 100]]);
    const full = new ReadAheadBudget(CHUNK - 1);
    const poor = new ReadAhead({ budget: full, lifetimeMs: 1000 });
    expect(
      Buffer.from(await poor.read(0, IOUNIT, CHUNK, 0, f.fetch)).equals(f.data.subarray(0, IOUNIT)),
    ).toBe(true);
    expect(f.asked[1]).toEqual([0, IOUNIT]);
    expect(full.used).toBe(0);
  });

  it('a failed read ahead is nobody’s error; the reader’s own failed read is its error', async () => {
    const f = hostFile(CHUNK * 3);
    const budget = new ReadAheadBudget();
    const ra = new ReadAhead({ budget, lifetimeMs: 1000, now: () => 0 });
    f.failing.add(CHUNK);
    await ra.read(0, IOUNIT, CHUNK, 0, f.fetch); // window 0, and the next asked ahead, which fails
    expect(f.asked).toEqual([
      [0, CHUNK],
      [CHUNK, CHUNK],
    ]);
    await new Promise((r) => setTimeout(r, 0));
    // The reader reaches the failed window's bytes: asked again, and served.
    const d = await ra.read(CHUNK, IOUNIT, CHUNK, 0, f.fetch);
    expect(Buffer.from(d).equals(f.data.subarray(CHUNK, CHUNK + IOUNIT))).toBe(true);
    expect(f.asked[2]).toEqual([CHUNK, CHUNK]);
    f.failing.add(2 * CHUNK + 5);
    await expect(ra.read(2 * CHUNK + 5, IOUNIT, CHUNK, 7, f.fetch)).rejects.toThrow('host gone');
    ra.close();
    await new Promise((r) => setTimeout(r, 0));
    expect(budget.used).toBe(0);
  });

  it('reads in flight together share the window that will hold their bytes', async () => {
    const f = hostFile(CHUNK * 4);
    const ra = new ReadAhead({ budget: new ReadAheadBudget(), lifetimeMs: 1000, now: () => 0 });
    const got = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => ra.read(i * IOUNIT, IOUNIT, CHUNK, 0, f.fetch)),
    );
    expect(Buffer.concat(got).equals(f.data.subarray(0, 8 * IOUNIT))).toBe(true);
    // Two windows for eight reads (and the third asked ahead), not one window per read.
    expect(f.asked).toEqual([
      [0, CHUNK],
      [CHUNK, CHUNK],
      [2 * CHUNK, CHUNK],
    ]);
  });

  it('a read across two windows is whole', async () => {
    const f = hostFile(CHUNK * 2);
    const ra = new ReadAhead({ budget: new ReadAheadBudget(), lifetimeMs: 1000, now: () => 0 });
    const d = await ra.read(CHUNK - 10, 100, CHUNK, 0, f.fetch);
    expect(Buffer.from(d).equals(f.data.subarray(CHUNK - 10, CHUNK + 90))).toBe(true);
  });
});

describe('read-ahead and the clunk', () => {
  it('a read still in flight at the clunk gives its window back to the budget', async () => {
    const f = hostFile(CHUNK * 2);
    const budget = new ReadAheadBudget();
    const ra = new ReadAhead({ budget, lifetimeMs: 1000, now: () => 0 });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = async (o: number, l: number) => {
      await gate;
      return f.fetch(o, l);
    };
    const reading = ra.read(0, IOUNIT, CHUNK, 0, slow);
    ra.close(); // the fid is clunked while its read waits for the host
    release();
    expect((await reading).length).toBe(IOUNIT);
    await new Promise((r) => setTimeout(r, 0));
    expect(budget.used).toBe(0);
  });
});
