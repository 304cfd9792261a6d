/** The command table: one quoting rule, Plan 9's errors with the offending line, argument counts. */
import { describe, expect, it } from 'vitest';
import { CommandError, CommandTable, Errno, NinepError, tokenize } from '../src/index.js';

const errorOf = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NinepError);
  return e as NinepError;
};

describe('tokenize', () => {
  it('splits on blanks, groups single quotes, reads two quotes as one', () => {
    expect(tokenize("  say  'big world' 'it''s' ''\t'a''b'c\n")).toEqual([
      'say',
      'big world',
      "it's",
      '',
      "a'bc",
    ]);
    expect(() => tokenize("say 'open")).toThrow(/unbalanced quote/);
  });
});

describe('CommandTable', () => {
  const seen: Array<[string, string[]]> = [];
  const table = new CommandTable<string>([
    { name: 'none', args: 0, run: (a, who) => void seen.push([who, a]) },
    { name: 'one', args: 1, run: (a, who) => void seen.push([who, a]) },
    { name: 'range', args: { min: 1, max: 2 }, run: (a, who) => void seen.push([who, a]) },
    { name: 'atleast', args: { min: 1 }, run: (a, who) => void seen.push([who, a]) },
    { name: 'any', run: (a, who) => void seen.push([who, a]) },
    {
      name: 'picky',
      args: 1,
      run: (a) => {
        if (a[0] !== 'on') throw new CommandError('bad value');
      },
    },
    {
      name: 'host',
      run: () => {
        throw new NinepError(Errno.EIO, 'host: gone');
      },
    },
  ]);

  it('refuses text longer than maxBytes (8192) unparsed, counting UTF-8 bytes', async () => {
    seen.length = 0;
    const long = 'any x\n'.repeat(2000); // 12,000 bytes
    await expect(table.runLines(long, 'fid')).rejects.toThrow(
      'control message too long (12000 bytes; at most 8192)',
    );
    await expect(table.runLine(`any ${'x'.repeat(9000)}`, 'fid')).rejects.toThrow(/too long/);
    // 3,000 characters of 3 bytes each: short in characters, 9,004 bytes.
    await expect(table.runLine(`any ${'€'.repeat(3000)}`, 'fid')).rejects.toThrow(/\(9004 bytes/);
    expect(seen).toEqual([]);
    await table.runLine(`any ${'x'.repeat(8000)}`, 'fid');
    expect(seen).toHaveLength(1);
  });

  it('runs each non-blank line in order with its context; a write with a refused line applies none', async () => {
    seen.length = 0;
    await table.runLines("none\n\n  \none 'a b'\nrange x y\natleast 1 2 3\nany\n", 'fid');
    expect(seen).toEqual([
      ['fid', []],
      ['fid', ['a b']],
      ['fid', ['x', 'y']],
      ['fid', ['1', '2', '3']],
      ['fid', []],
    ]);
    seen.length = 0;
    const e = await errorOf(table.runLines('one a\nnone x\none b', 'fid'));
    expect(e.message).toBe('bad # args to command: "none x"');
    expect(seen).toEqual([]);
  });

  it("answers Plan 9's errors with the line: unknown, bad # args, empty, and a handler's own reason", async () => {
    const cases: Array<[string, string]> = [
      ['bogus 1', 'unknown control message: "bogus 1"'],
      ['none 1', 'bad # args to command: "none 1"'],
      ['one', 'bad # args to command: "one"'],
      ['range', 'bad # args to command: "range"'],
      ['range a b c', 'bad # args to command: "range a b c"'],
      ['atleast', 'bad # args to command: "atleast"'],
      ['  picky off \n', 'bad value: "picky off"'],
      ['', 'empty control message: ""'],
    ];
    for (const [line, text] of cases) {
      const e = await errorOf(table.runLine(line, 'fid'));
      expect([e.errno, e.message]).toEqual([Errno.EINVAL, text]);
    }
    // Errors that are not about the line pass through unchanged.
    expect((await errorOf(table.runLine('host', 'fid'))).message).toBe('host: gone');
  });

  it('keeps a file’s own wording when it asks, and refuses a table naming a command twice', async () => {
    const gui = new CommandTable<void>([{ name: 'autograb', args: 1, run: () => {} }], {
      unknown: 'bad gui ctl',
      badArgs: 'bad gui ctl',
      empty: 'bad gui ctl',
    });
    expect((await errorOf(gui.runLine('autograb', undefined))).message).toBe('bad gui ctl: "autograb"');
    expect((await errorOf(gui.runLine('nope on', undefined))).message).toBe('bad gui ctl: "nope on"');
    expect(gui.lookup(['autograb', 'on'], 'autograb on').name).toBe('autograb');
    expect(table.names).toContain('atleast');
    expect(
      () =>
        new CommandTable([
          { name: 'x', run: () => {} },
          { name: 'x', run: () => {} },
        ]),
    ).toThrow(/"x" is listed twice/);
  });
});
