import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  decode,
  decodeDirents,
  decodeStats,
  encode,
  encodeDirent,
  encodeStat,
  NOTAG,
  type Stat,
} from '../src/index.js';
import { onlyDecodeErrors, roundTrip } from './decoder-properties.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('codec', () => {
  it('encodes the worked example of docs/protocol/9p.md §2 byte for byte', () => {
    expect(encode({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000' }, '9P2000')).toEqual(
      hex('13000000 64 ffff 00200000 0600 395032303030'),
    );
    expect(encode({ type: 'Rclunk', tag: 5 }, '9P2000')).toEqual(hex('07000000 79 0500'));
    expect(decode(hex('13000000 64 ffff 00200000 0600 395032303030'), '9P2000.L')).toEqual({
      type: 'Tversion',
      tag: NOTAG,
      msize: 8192,
      version: '9P2000',
    });
  });

  it('writes the dialect fields only in their dialects', () => {
    const attach = {
      type: 'Tattach',
      tag: 1,
      fid: 0,
      afid: 0xffffffff,
      uname: 'u',
      aname: '',
      nUname: 1000,
    } as const;
    expect(encode(attach, '9P2000').length).toBe(19 + 1);
    expect(encode(attach, '9P2000.u').length).toBe(19 + 1 + 4);
    expect(encode(attach, '9P2000.L').length).toBe(19 + 1 + 4);
    const err = { type: 'Rerror', tag: 1, ename: 'x', errno: 2 } as const;
    expect(encode(err, '9P2000').length).toBe(10);
    expect(encode(err, '9P2000.u').length).toBe(14);
    expect(decode(encode(err, '9P2000.u'), '9P2000.u')).toEqual(err);
    // Rgetattr is 160 bytes, Rstatfs 67, Rlerror 11 (§7.1).
    expect(encode({ type: 'Rlerror', tag: 0, ecode: 2 }, '9P2000.L').length).toBe(11);
  });

  it('refuses .L messages outside 9P2000.L, naming the type', () => {
    const f = encode({ type: 'Tgetattr', tag: 3, fid: 1, requestMask: 0x7ffn }, '9P2000.L');
    expect(() => decode(f, '9P2000')).toThrow(DecodeError);
    try {
      decode(f, '9P2000.u');
    } catch (e) {
      expect((e as DecodeError).field).toBe('type 24');
      expect((e as DecodeError).tag).toBe(3);
    }
  });

  it('names the field at fault', () => {
    const walk = encode({ type: 'Twalk', tag: 7, fid: 1, newfid: 2, wnames: ['a', 'bcd'] }, '9P2000');
    const cut = Buffer.from(walk.subarray(0, walk.length - 2));
    cut.writeUInt32LE(cut.length, 0);
    const err = (() => {
      try {
        decode(cut, '9P2000');
      } catch (e) {
        return e as DecodeError;
      }
    })();
    expect(err).toBeInstanceOf(DecodeError);
    expect(err?.field).toBe('Twalk.wname[1]');
    expect(err?.tag).toBe(7);
    expect(err?.message).toMatch(/Twalk\.wname\[1\] at byte 20: string of 3 bytes runs past the end/);

    const extra = Buffer.concat([encode({ type: 'Tclunk', tag: 1, fid: 1 }, '9P2000'), Buffer.from([0])]);
    extra.writeUInt32LE(extra.length, 0);
    expect(() => decode(extra, '9P2000')).toThrow(/Tclunk\.\(end\).*1 bytes left over/);

    const nul = encode({ type: 'Tattach', tag: 1, fid: 0, afid: 0, uname: 'a\0b', aname: '' }, '9P2000');
    expect(() => decode(nul, '9P2000')).toThrow(/Tattach\.uname.*NUL/);
    const bad = encode({ type: 'Tattach', tag: 1, fid: 0, afid: 0, uname: 'ab', aname: '' }, '9P2000');
    bad[17] = 0xff;
    expect(() => decode(bad, '9P2000')).toThrow(/Tattach\.uname.*UTF-8/);
    expect(() => decode(Buffer.from([5, 0, 0, 0, 1]), '9P2000')).toThrow(/header\.size/);
  });

  it('checks the two stat sizes of Rstat agree', () => {
    const st: Stat = {
      type: 0,
      dev: 0,
      qid: { type: 0, version: 0, path: 1n },
      mode: 0o644,
      atime: 1,
      mtime: 2,
      length: 3n,
      name: 'f',
      uid: 'u',
      gid: 'g',
      muid: '',
    };
    const f = encode({ type: 'Rstat', tag: 1, stat: st }, '9P2000');
    expect(f.readUInt16LE(7)).toBe(f.readUInt16LE(9) + 2); // n = entry size + 2 (§3.1)
    f.writeUInt16LE(f.readUInt16LE(9) - 1, 9);
    expect(() => decode(f, '9P2000')).toThrow(/Rstat\.stat/);
    // A .u stat entry carries the four extra fields and is 14 bytes longer.
    expect(encodeStat(st, '9P2000.u').length - encodeStat(st, '9P2000').length).toBe(14);
    expect(
      decodeStats(
        Buffer.concat([encodeStat(st, '9P2000.u'), encodeStat({ ...st, name: 'g' }, '9P2000.u')]),
        '9P2000.u',
      ).map((s) => s.name),
    ).toEqual(['f', 'g']);
  });

  it('encodes .L dirents (24 + name bytes each)', () => {
    const buf = Buffer.alloc(100);
    const end = encodeDirent(
      { qid: { type: 0x80, version: 0, path: 9n }, offset: 1n, type: 4, name: 'dir' },
      buf,
      0,
    );
    expect(end).toBe(27);
    expect(decodeDirents(buf.subarray(0, end))).toEqual([
      { qid: { type: 0x80, version: 0, path: 9n }, offset: 1n, type: 4, name: 'dir' },
    ]);
  });

  it('rejects values that do not fit their wire width, naming the field', () => {
    expect(() => encode({ type: 'Tclunk', tag: 1, fid: 2 ** 32 }, '9P2000')).toThrow(/Tclunk\.fid/);
    expect(() => encode({ type: 'Tread', tag: 1, fid: 1, offset: -1n, count: 1 }, '9P2000')).toThrow(
      /Tread\.offset/,
    );
  });

  // A fixed number of cases, with a limit sized for a slow, busy machine (about 7 s when idle); the
  // million-frame run is `pnpm --filter ninep fuzz`, outside CI.
  it('round-trips every message of every dialect (fast-check)', () => roundTrip(3000), 180_000);
  it(
    'gives nothing but DecodeError for arbitrary and mutated frames (fast-check)',
    () => onlyDecodeErrors(20000),
    180_000,
  );
});
