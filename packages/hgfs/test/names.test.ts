import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeCPName,
  decodeCPNameLite,
  encodeCPName,
  encodeCPNameLite,
  escapeName,
  HgfsDecodeError,
  HgfsNameError,
  ntTimeToUnixNs,
  UNIX_EPOCH_NT,
  unescapeName,
  unixNsToNtTime,
} from '../src/index.js';
import * as arb from './arbitraries.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('CPName', () => {
  it('joins components with NUL, share first, the root empty', () => {
    expect(encodeCPName(['root', 'tmp', 'VMwareDnD', 'abc', 'x.txt'])).toEqual(
      bytes('root\0tmp\0VMwareDnD\0abc\0x.txt'),
    );
    expect(encodeCPName([])).toEqual(new Uint8Array(0));
    expect(decodeCPName(new Uint8Array(0))).toEqual([]);
  });

  it.each([
    ['a\0..\0b', /'\.\.' component/],
    ['.', /'\.' component/],
    ['a\0\0b', /empty component/],
    ['\0a', /empty component/],
    ['a\0', /empty component/],
    ['a/b', /containing '\/'/],
    [`${'x'.repeat(256)}`, /over 255/],
  ])('decoding refuses %j', (name, reason) => {
    expect(() => decodeCPName(bytes(name))).toThrow(HgfsDecodeError);
    expect(() => decodeCPName(bytes(name))).toThrow(reason);
  });

  it('names the offset of the bad component', () => {
    try {
      decodeCPName(bytes('share\0..'));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(HgfsDecodeError);
      expect((e as HgfsDecodeError).offset).toBe(6);
      expect((e as HgfsDecodeError).field).toBe('cpName');
    }
  });

  it('refuses invalid UTF-8 and over-long names', () => {
    expect(() => decodeCPName(Uint8Array.of(0x61, 0xff))).toThrow(/not valid UTF-8/);
    expect(() => decodeCPName(bytes(Array(20).fill('x'.repeat(250)).join('\0')))).toThrow(/over 4096/);
  });

  it.each([[['']], [['.']], [['a', '..']], [['a/b']], [['a\0b']], [['\ud800']], [['x'.repeat(256)]]])(
    'encoding refuses %j',
    (path) => {
      expect(() => encodeCPName(path)).toThrow(HgfsNameError);
    },
  );
});

describe('CPNameLite', () => {
  it('maps every / to NUL and back, exactly', () => {
    expect(encodeCPNameLite('/abs//x/')).toEqual(bytes('\0abs\0\0x\0'));
    expect(decodeCPNameLite(bytes('\0abs\0\0x\0'))).toBe('/abs//x/');
    expect(decodeCPNameLite(bytes('..\0up'))).toBe('../up');
  });

  it('refuses a NUL in a target, and a / on the wire', () => {
    expect(() => encodeCPNameLite('a\0b')).toThrow(HgfsNameError);
    expect(() => decodeCPNameLite(bytes('a/b'))).toThrow(HgfsDecodeError);
  });
});

describe('escaping (hgfsEscape.c, Linux rules)', () => {
  it.each([
    ['a/b', 'a!%b'],
    ['a!%b', 'a!]%b'],
    ['a!]%b', 'a!]]%b'],
    ['100%', '100%'],
    ['/%', '!%%'],
    ['plain', 'plain'],
  ])('%j ↔ %j', (wire, local) => {
    expect(escapeName(wire)).toBe(local);
    expect(unescapeName(local)).toBe(wire);
  });

  it('unescape undoes escape for any name', () => {
    const name = fc
      .array(fc.constantFrom('a', '/', '!', '%', ']', 'é'), { maxLength: 16 })
      .map((cs) => cs.join(''));
    fc.assert(
      fc.property(name, (n) => {
        const local = escapeName(n);
        expect(local.includes('/')).toBe(false);
        expect(unescapeName(local)).toBe(n);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('NT time', () => {
  it('converts exactly at 100 ns', () => {
    expect(ntTimeToUnixNs(UNIX_EPOCH_NT)).toBe(0n);
    expect(unixNsToNtTime(1_700_000_000_123_456_700n)).toBe(UNIX_EPOCH_NT + 17_000_000_001_234_567n);
    expect(unixNsToNtTime(-1n)).toBe(UNIX_EPOCH_NT - 1n);
    expect(unixNsToNtTime(-(UNIX_EPOCH_NT * 100n) - 100n)).toBe(0n);
    fc.assert(
      fc.property(arb.u64, (nt) => {
        expect(unixNsToNtTime(ntTimeToUnixNs(nt))).toBe(nt);
      }),
      { numRuns: 1000 },
    );
  });
});
