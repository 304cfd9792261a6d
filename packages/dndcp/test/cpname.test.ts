// Guest paths as CPNames in the `root` share, and as FILELIST_URI URIs (docs/protocol/dndcp.md §9.2, §9.4).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cpNameOfPath,
  DndCpDecodeError,
  DndCpEncodeError,
  decodeUriFileList,
  encodeUriFileList,
  fileUriOfPath,
  pathOfCpName,
} from '../src/index.js';

const cp = (...parts: string[]) => Buffer.from(parts.join('\x00'), 'utf8');

describe('cpNameOfPath (CPNameUtil_ConvertToRoot)', () => {
  it('root, then the components separated by NUL, no trailing NUL', () => {
    expect(cpNameOfPath('/tmp/VMwareDnD/abc')).toEqual(cp('root', 'tmp', 'VMwareDnD', 'abc'));
    expect(cpNameOfPath('/home/u/a.txt')).toHaveLength(17);
  });

  it('drops leading, doubled and trailing separators', () => {
    expect(cpNameOfPath('//tmp///VMwareDnD/abc//')).toEqual(cp('root', 'tmp', 'VMwareDnD', 'abc'));
  });

  it('"/" is "root\\0" (5 bytes), as the C function counts it', () => {
    expect(cpNameOfPath('/')).toEqual(Buffer.from('root\x00'));
    expect(cpNameOfPath('///')).toEqual(Buffer.from('root\x00'));
  });

  it('keeps UTF-8 and every other byte of a name as is (no escaping)', () => {
    expect(cpNameOfPath('/é/a!%b/c d')).toEqual(cp('root', 'é', 'a!%b', 'c d'));
  });

  it('refuses a relative path or a NUL', () => {
    expect(() => cpNameOfPath('tmp/x')).toThrow(DndCpEncodeError);
    expect(() => cpNameOfPath('')).toThrow(DndCpEncodeError);
    expect(() => cpNameOfPath('/a\0b')).toThrow(DndCpEncodeError);
  });
});

describe('pathOfCpName', () => {
  it('is the inverse for normalised paths', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc
            .string({ unit: 'grapheme', minLength: 1, maxLength: 8 })
            .filter((s) => !/[/\0]/.test(s) && s !== '.' && s !== '..'),
          { maxLength: 6 },
        ),
        (parts) => {
          const path = `/${parts.join('/')}`;
          expect(pathOfCpName(cpNameOfPath(path))).toBe(path);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses another share, empty, . and .. components, and bytes that are not UTF-8', () => {
    for (const bad of [
      cp('share', 'a'),
      cp('root', '', 'a'),
      cp('root', 'a', ''),
      cp('root', '..', 'etc'),
      cp('root', '.'),
      Buffer.from([0x72, 0x6f, 0x6f, 0x74, 0, 0xff]),
    ])
      expect(() => pathOfCpName(bad)).toThrow(DndCpDecodeError);
  });
});

describe('FILELIST_URI', () => {
  it('escapes as g_uri_escape_string(path, "/", FALSE): all but unreserved and /', () => {
    expect(fileUriOfPath('/home/u/a.txt')).toBe('file:///home/u/a.txt');
    expect(fileUriOfPath("/a b/%/é/!'()*~-_.")).toBe('file:///a%20b/%25/%C3%A9/%21%27%28%29%2A~-_.');
  });

  it('encodes {u64 total, u32 length, NUL-terminated URIs} and decodes back', () => {
    const l = { totalSize: 2n ** 40n, uris: ['file:///a', 'file:///b%20c'] };
    const b = encodeUriFileList(l);
    expect(b.readBigUInt64LE(0)).toBe(2n ** 40n);
    expect(b.readUInt32LE(8)).toBe(b.length - 12);
    expect(b.subarray(12).toString('latin1')).toBe('file:///a\0file:///b%20c\0');
    expect(decodeUriFileList(b)).toEqual(l);
  });

  it('refuses a length past the end and a NUL in a URI', () => {
    const b = encodeUriFileList({ totalSize: 0n, uris: ['file:///a'] });
    b.writeUInt32LE(1000, 8);
    expect(() => decodeUriFileList(b)).toThrow(DndCpDecodeError);
    expect(() => decodeUriFileList(Buffer.alloc(11))).toThrow(DndCpDecodeError);
    expect(() => encodeUriFileList({ totalSize: 0n, uris: ['a\0b'] })).toThrow(DndCpEncodeError);
  });
});
