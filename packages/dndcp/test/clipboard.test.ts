// The clipboard reader's rules (docs/protocol/dndcp.md §5.2–§5.4).
import { describe, expect, it } from 'vitest';
import {
  assertClipboardFits,
  CP_ITEM_MAX,
  type CpClipboard,
  CpFormat,
  type CpFormatId,
  clipboardSize,
  DndCpDecodeError,
  DndCpLimitError,
  decodeClipboard,
  decodeFileList,
  encodeClipboard,
  encodeFileList,
  itemText,
  textItem,
} from '../src/index.js';

/** Hand-built clipboard bytes: maxFmt, then records {exists, size, data?}, then an optional tail. */
function bytes(
  maxFmt: number,
  records: [exists: number, size: number, data?: Buffer][],
  tail: number[] = [],
): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32LE(maxFmt, 0);
  parts.push(n);
  for (const [exists, size, data] of records) {
    const r = Buffer.alloc(5);
    r[0] = exists;
    r.writeUInt32LE(size, 1);
    parts.push(r);
    if (data) parts.push(data);
  }
  parts.push(Buffer.from(tail));
  return Buffer.concat(parts);
}
const absent = (n: number): [number, number][] => Array.from({ length: n }, () => [0, 0]);
const clip = (items: [number, Buffer][], changed = true): CpClipboard => ({
  items: new Map(items as [CpFormatId, Buffer][]),
  changed,
});

function decodeError(b: Uint8Array, maxSize?: number): DndCpDecodeError {
  try {
    decodeClipboard(b, maxSize);
  } catch (e) {
    expect(e).toBeInstanceOf(DndCpDecodeError);
    return e as DndCpDecodeError;
  }
  throw new Error('decoded');
}

describe('decodeClipboard', () => {
  it('an older peer writing 8 formats (and no changed byte) is read', () => {
    const b = bytes(8, [[1, 3, Buffer.from('hi\0')], ...absent(6)]);
    expect(decodeClipboard(b)).toEqual(clip([[1, Buffer.from('hi\0')]]));
  });

  it('maxFmt over 11 is clamped: records of formats past 10 are left unread, and so is changed', () => {
    const b = bytes(13, [[1, 1, Buffer.from('a')], ...absent(9), [1, 2, Buffer.from('zz')]], [0]);
    // 4 + 10 records read; the 11th record and the changed byte (7 + 1 bytes) remain: changed stays true.
    expect(decodeClipboard(b)).toEqual(clip([[1, Buffer.from('a')]], true));
  });

  it('maxFmt 0 or 1 has no records; the changed byte is still read when exactly one byte is left', () => {
    expect(decodeClipboard(bytes(0, [], [0]))).toEqual(clip([], false));
    expect(decodeClipboard(bytes(1, []))).toEqual(clip([], true));
  });

  it('the changed byte is read only when exactly one byte is left; any non-zero is true', () => {
    expect(decodeClipboard(bytes(11, absent(10), [0])).changed).toBe(false);
    expect(decodeClipboard(bytes(11, absent(10), [2])).changed).toBe(true);
    expect(decodeClipboard(bytes(11, absent(10), [0, 0])).changed).toBe(true);
    expect(decodeClipboard(bytes(11, absent(10), [])).changed).toBe(true);
  });

  it('exists = 0 with a size, or exists with size 0, is no item and consumes no bytes', () => {
    const b = bytes(11, [[0, 5], [1, 0], [7, 2, Buffer.from('{}')], ...absent(7)], [0]);
    expect(decodeClipboard(b)).toEqual(clip([[3, Buffer.from('{}')]], false));
  });

  it('cut-short records and items name the format', () => {
    const e = decodeError(
      bytes(11, [
        [1, 3, Buffer.from('hi\0')],
        [0, 0],
      ]).subarray(0, 15),
    );
    expect(e.field).toBe('clipboard.FILELIST');
    const f = decodeError(bytes(11, [[1, 10, Buffer.from('short')]]));
    expect(f).toMatchObject({ field: 'clipboard.TEXT', offset: 5 });
    expect(decodeError(Buffer.from([11, 0, 0])).field).toBe('clipboard.maxFmt');
  });

  it('TEXT must be valid UTF-8 (NULs allowed); other formats may be any bytes', () => {
    expect(decodeError(bytes(11, [[1, 2, Buffer.from([0xc3, 0x28])]])).field).toBe('clipboard.TEXT');
    expect(decodeError(bytes(11, [[1, 3, Buffer.from([0xed, 0xa0, 0x80])]])).field).toBe('clipboard.TEXT'); // a surrogate
    expect(decodeError(bytes(11, [[1, 2, Buffer.from([0xc0, 0x80])]])).field).toBe('clipboard.TEXT'); // overlong NUL
    expect(decodeClipboard(bytes(2, [[1, 4, Buffer.from('a\0b\0')]])).items.get(1)).toEqual(
      Buffer.from('a\0b\0'),
    );
    expect(
      decodeClipboard(
        bytes(4, [
          [0, 0],
          [0, 0],
          [1, 2, Buffer.from([0xc3, 0x28])],
        ]),
      ).items.get(3),
    ).toEqual(Buffer.from([0xc3, 0x28]));
  });

  it('an item must be below maxSize: the whole clipboard fails otherwise', () => {
    expect(decodeError(bytes(2, [[1, 10, Buffer.alloc(10, 0x61)]]), 10).field).toBe('clipboard.TEXT');
    expect(decodeClipboard(bytes(2, [[1, 9, Buffer.alloc(9, 0x61)]]), 10).items.get(1)).toHaveLength(9);
  });

  it('the default limit is CP_ITEM_MAX: 4194190 bytes pass, 4194191 fail', () => {
    const ok = encodeClipboard(clip([[6, Buffer.alloc(CP_ITEM_MAX - 1)]]));
    expect(decodeClipboard(ok).items.get(6)).toHaveLength(CP_ITEM_MAX - 1);
    const over = encodeClipboard(clip([[6, Buffer.alloc(CP_ITEM_MAX)]]));
    expect(decodeError(over).field).toBe('clipboard.IMG_PNG');
  });

  it('when the total reaches maxSize, formats are dropped in the order FILECONTENTS, ART_GVML, BIFF12, HTML, PNG, RTF, TEXT', () => {
    // maxSize 100: TEXT 40, RTF 40 (80 < 100), PNG 30 (110 ≥ 100: drops FILECONTENTS…HTML, absent, then PNG itself).
    const a = clip([
      [CpFormat.TEXT, Buffer.alloc(40, 0x61)],
      [CpFormat.RTF, Buffer.alloc(40)],
      [CpFormat.IMG_PNG, Buffer.alloc(30)],
    ]);
    expect([...decodeClipboard(encodeClipboard(a), 100).items.keys()]).toEqual([1, 3]);
    // FILELIST 60 and TEXT 50: TEXT is dropped (110 ≥ 100), the file list never is.
    const b = clip([
      [CpFormat.TEXT, Buffer.alloc(50, 0x61)],
      [CpFormat.FILELIST, Buffer.alloc(60)],
    ]);
    expect([...decodeClipboard(encodeClipboard(b), 100).items.keys()]).toEqual([2]);
    // Two file formats over the limit together: nothing of theirs is dropped, the total stays over.
    const c = clip([
      [CpFormat.FILELIST, Buffer.alloc(60)],
      [CpFormat.FILELIST_URI, Buffer.alloc(60)],
      [CpFormat.HTML, Buffer.alloc(10)],
    ]);
    const d = decodeClipboard(encodeClipboard(c), 100);
    expect([...d.items.keys()]).toEqual([2, 4]);
    expect(clipboardSize(d)).toBe(120);
    // Exactly the limit counts as over: 50 + 50 drops RTF, which the order drops before TEXT.
    const e = clip([
      [CpFormat.TEXT, Buffer.alloc(50, 0x61)],
      [CpFormat.RTF, Buffer.alloc(50)],
    ]);
    expect([...decodeClipboard(encodeClipboard(e), 100).items.keys()]).toEqual([1]);
  });

  it('returns copies: changing the input later changes nothing', () => {
    const b = encodeClipboard(clip([[1, textItem('hi')]]));
    const c = decodeClipboard(b);
    b.fill(0x7a);
    expect(c.items.get(1)).toEqual(textItem('hi'));
  });
});

describe('encodeClipboard', () => {
  it('writes an empty item as absent and the items in format order', () => {
    const c = clip([
      [6, Buffer.from([1, 2])],
      [1, Buffer.alloc(0)],
      [3, Buffer.from('r')],
    ]);
    const b = encodeClipboard(c);
    expect(b).toHaveLength(55 + 3);
    expect(decodeClipboard(b)).toEqual(
      clip([
        [3, Buffer.from('r')],
        [6, Buffer.from([1, 2])],
      ]),
    );
    expect(b.subarray(4, 9)).toEqual(Buffer.alloc(5));
  });

  it('refuses a key that is no format', () => {
    expect(() =>
      encodeClipboard({ items: new Map([[11 as CpFormatId, Buffer.from('x')]]), changed: true }),
    ).toThrow(/format 11/);
  });
});

describe('limits before sending', () => {
  it('assertClipboardFits: each item and the total must be below the limit', () => {
    assertClipboardFits(clip([[1, Buffer.alloc(CP_ITEM_MAX - 1)]]));
    expect(() => assertClipboardFits(clip([[1, Buffer.alloc(CP_ITEM_MAX)]]))).toThrow(DndCpLimitError);
    const e = (() => {
      try {
        assertClipboardFits(
          clip([
            [1, Buffer.alloc(60)],
            [3, Buffer.alloc(40)],
          ]),
          100,
        );
      } catch (x) {
        return x;
      }
    })();
    expect(e).toBeInstanceOf(DndCpLimitError);
    expect(e).toMatchObject({ size: 100, limit: 99 });
  });
});

describe('text items', () => {
  it('textItem adds one NUL; itemText strips one', () => {
    expect(textItem('hé')).toEqual(Buffer.from([0x68, 0xc3, 0xa9, 0]));
    expect(textItem(Buffer.from('a\0'))).toEqual(Buffer.from('a\0\0'));
    expect(itemText(Buffer.from('a\0\0'))).toEqual(Buffer.from('a\0'));
    expect(itemText(Buffer.from('abc'))).toEqual(Buffer.from('abc'));
    expect(itemText(Buffer.alloc(0))).toEqual(Buffer.alloc(0));
  });
});

describe('file lists', () => {
  it('the example of §5.4: /home/u/a.txt from the guest', () => {
    const full = Buffer.from('root\0home\0u\0a.txt');
    const b = encodeFileList({ totalSize: 5n, relNames: ['a.txt'], fullPaths: [full] });
    const expected = Buffer.concat([
      Buffer.from('0500000000000000' + '06000000' + '15000000', 'hex'),
      Buffer.from('a.txt\0'),
      Buffer.from('11000000', 'hex'),
      full,
    ]);
    expect(b).toEqual(expected);
    expect(decodeFileList(b)).toEqual({ totalSize: 5n, relNames: ['a.txt'], fullPaths: [full] });
  });

  it('a last name without its NUL is read (vmtoolsd adds one); trailing bytes are ignored', () => {
    const b = Buffer.concat([
      Buffer.from('0000000000000000' + '03000000' + '00000000', 'hex'),
      Buffer.from('a\0bXYZ'),
    ]);
    expect(decodeFileList(b)).toEqual({ totalSize: 0n, relNames: ['a', 'b'], fullPaths: [] });
  });

  it('lengths past the end, a cut full path, a non-UTF-8 name: DndCpDecodeError naming the field', () => {
    const head = (rel: number, full: number) => {
      const h = Buffer.alloc(16);
      h.writeUInt32LE(rel, 8);
      h.writeUInt32LE(full, 12);
      return h;
    };
    const field = (b: Buffer) => {
      try {
        decodeFileList(b);
      } catch (e) {
        expect(e).toBeInstanceOf(DndCpDecodeError);
        return (e as DndCpDecodeError).field;
      }
      return 'decoded';
    };
    expect(field(Buffer.alloc(15))).toBe('fileList');
    expect(field(Buffer.concat([head(5, 0), Buffer.from('abcd')]))).toBe('fileList.relPathsLen');
    expect(field(Buffer.concat([head(0, 5), Buffer.from('abcd')]))).toBe('fileList.fullPathsLen');
    expect(field(Buffer.concat([head(0, 6), Buffer.from('0500000061', 'hex'), Buffer.from('b')]))).toBe(
      'fileList.fullPaths',
    );
    expect(field(Buffer.concat([head(0, 3), Buffer.from('050000', 'hex')]))).toBe('fileList.fullPaths');
    expect(field(Buffer.concat([head(2, 0), Buffer.from([0xff, 0])]))).toBe('fileList.relNames');
  });

  it('a name with a NUL cannot be encoded', () => {
    expect(() => encodeFileList({ totalSize: 0n, relNames: ['a\0b'], fullPaths: [] })).toThrow(/NUL/);
  });
});
