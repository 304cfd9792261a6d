/**
 * Review of issue 16: prepareStagingRoot checks the existing directories above the root, then
 * makes the missing ones; a component another user makes in between (under a sticky /tmp) is
 * taken as made by us (EEXIST) and never checked, so the root ends up inside a directory that user
 * owns and can swap. mkdirSync is wrapped to play that user at the right moment.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

const intruder = { path: '', uid: 0 };

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return {
    ...real,
    mkdirSync: (p: fs.PathLike, o?: fs.MakeDirectoryOptions & { mode?: number }) => {
      if (String(p) === intruder.path) {
        // The other user wins the race: the directory is theirs, open to them.
        real.mkdirSync(p, { mode: 0o777 });
        real.chmodSync(p, 0o777);
        // As root, theirs; otherwise ours but writable by anyone (what checks refuse as well).
        if (process.getuid?.() === 0) real.chownSync(p, intruder.uid, intruder.uid);
        const e = new Error(`EEXIST: file already exists, mkdir '${String(p)}'`) as NodeJS.ErrnoException;
        e.code = 'EEXIST';
        throw e;
      }
      return real.mkdirSync(p, o);
    },
  };
});

const { prepareStagingRoot, StagingError } = await import('../src/staging.js');

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  intruder.path = '';
});

describe('a missing component another user makes while the root is prepared', () => {
  it('is checked after it is made: the root is refused', () => {
    const base = fs.mkdtempSync(join(tmpdir(), 'staging-race-'));
    made.push(base);
    fs.chmodSync(base, 0o1777); // a /tmp of its own: anyone may make entries, sticky
    const uid = process.getuid!();
    intruder.path = join(base, 'vmw9');
    intruder.uid = uid + 4242;
    expect(() => prepareStagingRoot(join(base, 'vmw9', 'dnd'), uid)).toThrow(StagingError);
  });
});
