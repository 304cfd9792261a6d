import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bintimeRecord,
  mouseRecord,
  num11,
  parseMouseWrite,
  plan9Buttons,
  pointerRecord,
  statsLine,
  timeRecord,
  wctlRecord,
} from '../src/format.js';

describe('Plan 9 records', () => {
  it('the /dev/mouse record is 49 bytes: m, then four %11d fields', () => {
    const r = mouseRecord('m', 100, 200, 1, 123456);
    expect(r).toBe('m        100         200           1      123456 ');
    expect(r.length).toBe(49);
    fc.assert(
      fc.property(
        fc.integer({ min: -99999, max: 99999 }),
        fc.integer({ min: -99999, max: 99999 }),
        fc.integer({ min: 0, max: 31 }),
        fc.nat(),
        (x, y, b, ms) => {
          const rec = mouseRecord('r', x, y, b, ms);
          expect(rec.length).toBe(49);
          const [t, ...f] = [rec[0], ...rec.slice(1).trim().split(/\s+/)];
          expect([t, ...f.map(Number)]).toEqual(['r', x, y, b, ms >>> 0]);
        },
      ),
      { numRuns: 200 },
    );
  }, 120_000);

  it('buttons: 1 left, 2 middle, 4 right, 8 wheel up, 16 wheel down', () => {
    expect(plan9Buttons({ left: true, right: true })).toBe(5);
    expect(plan9Buttons({ middle: true, wheel: -1 })).toBe(10);
    expect(plan9Buttons({ wheel: 1 })).toBe(16);
  });

  it('mouse writes: "m x y [b [msec]]" or "x y"; anything else is refused', () => {
    expect(parseMouseWrite('m 10 20')).toEqual({ x: 10, y: 20 });
    expect(parseMouseWrite('m10 20 1 5\n')).toEqual({ x: 10, y: 20 });
    expect(parseMouseWrite('30 40')).toEqual({ x: 30, y: 40 });
    for (const bad of ['', 'm', 'x 1 2', 'm 1', '1 2 3 4 5', 'm a b'])
      expect(parseMouseWrite(bad)).toBeNull();
  });

  it('/dev/time is 78 bytes; bintime is 24 bytes big-endian', () => {
    const ns = 1_795_561_322_123_456_789n;
    const t = timeRecord(ns);
    expect(t.length).toBe(78);
    expect(t).toBe(' 1795561322   1795561322123456789   1795561322123456789            1000000000 ');
    const b = bintimeRecord(ns);
    expect(b.length).toBe(24);
    expect(b.readBigUInt64BE(0)).toBe(ns);
    expect(b.readBigUInt64BE(16)).toBe(1_000_000_000n);
  });

  it('wctl is 72 bytes; pointer 24; stats lines are %11d fields', () => {
    expect(wctlRecord(1920, 1080, 'current')).toBe(
      '          0           0        1920        1080     current     visible ',
    );
    expect(wctlRecord(1, 1, 'pending').length).toBe(72);
    expect(pointerRecord(3, 4)).toBe('          3           4 ');
    expect(statsLine([1, 22])).toBe('          1          22 \n');
    expect(num11(-5)).toBe('         -5 ');
  });
});
