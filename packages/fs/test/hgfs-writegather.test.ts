import { describe, expect, it } from 'vitest';
import { WriteGather } from '../src/hgfs/writegather.js';

/** A host that holds each write until released, and records what it was sent. */
function slowHost(take: (length: number) => number = (n) => n) {
  const sent: Array<[number, number]> = [];
  const file = Buffer.alloc(1 << 20);
  const gates: Array<() => void> = [];
  let fail: Error | undefined;
  const send = (offset: number, data: Uint8Array) =>
    new Promise<number>((resolve, reject) => {
      sent.push([offset, data.length]);
      gates.push(() => {
        if (fail) return reject(fail);
        const n = take(data.length);
        Buffer.from(data.subarray(0, n)).copy(file, offset);
        resolve(n);
      });
    });
  const release = async () => {
    while (gates.length === 0) await new Promise((r) => setTimeout(r, 0));
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
  };
  return { sent, file, send, release, failWith: (e: Error | undefined) => (fail = e) };
}

const piece = (n: number, byte: number) => Buffer.alloc(n, byte);

describe('write gathering', () => {
  it('one write at a time goes as it is: nothing waits for company', async () => {
    const h = slowHost();
    const g = new WriteGather(h.send, () => 1000);
    for (let i = 0; i < 3; i++) {
      const w = g.write(i * 100, piece(100, i + 1));
      await h.release();
      expect(await w).toBe(100);
    }
    expect(h.sent).toEqual([
      [0, 100],
      [100, 100],
      [200, 100],
    ]);
  });

  it('contiguous writes arriving together go on as one, each answered once the host has it', async () => {
    const h = slowHost();
    const g = new WriteGather(h.send, () => 300);
    const ws = [0, 1, 2, 3, 4].map((i) => g.write(i * 100, piece(100, i + 1)));
    await h.release(); // 0..300 together (300 bytes, the most one write carries)
    await h.release(); // 300..500, gathered while the first was at the host
    expect(await Promise.all(ws)).toEqual([100, 100, 100, 100, 100]);
    expect(h.sent).toEqual([
      [0, 300],
      [300, 200],
    ]);
    for (let i = 0; i < 5; i++) expect(h.file[i * 100 + 50]).toBe(i + 1);
  });

  it('a write that is not contiguous is not joined; a short write is shared out in order; an error reaches every write of its batch', async () => {
    const h = slowHost((n) => (n === 200 ? 150 : n));
    const g = new WriteGather(h.send, () => 1000);
    const a = g.write(0, piece(100, 1));
    const b = g.write(500, piece(100, 2));
    const c = g.write(600, piece(100, 3));
    await h.release();
    await h.release();
    expect(await Promise.all([a, b, c])).toEqual([100, 100, 50]);
    expect(h.sent).toEqual([
      [0, 100],
      [500, 200],
    ]);
    const e = g.write(10, piece(10, 5));
    const f = g.write(20, piece(10, 6));
    const outcomes = Promise.allSettled([e, f]);
    h.failWith(new Error('host gone'));
    await h.release();
    expect(h.sent[2]).toEqual([10, 20]);
    const [oe, of] = await outcomes;
    expect(oe).toMatchObject({ status: 'rejected', reason: { message: 'host gone' } });
    expect(of).toMatchObject({ status: 'rejected', reason: { message: 'host gone' } });
    // The next write is on its own, and fine once the host is.
    h.failWith(undefined);
    const d = g.write(30, piece(10, 4));
    await h.release();
    expect(await d).toBe(10);
  });
});
