/** `vmw9 hgfs shares|ls|get|put` against a simulated host sharing a temporary directory. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useSimHost } from './sim-host.js';

const base = mkdtempSync(join(tmpdir(), 'vmw9-cli-hgfs-'));
const share = join(base, 'share');
const ro = join(base, 'ro');
mkdirSync(join(share, 'sub'), { recursive: true });
mkdirSync(ro);
writeFileSync(join(share, 'a.txt'), 'alpha\n');
const big = Buffer.alloc(3_000_000);
for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
writeFileSync(join(share, 'big.bin'), big);

const sim = useSimHost({
  hgfs: {
    shares: [
      { name: 'docs', dir: share, readOnly: false },
      { name: 'ro', dir: ro, readOnly: true },
    ],
  },
});
const sum = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('vmw9 hgfs', () => {
  it('shares: one line each, rw or ro; --json', async () => {
    expect(await sim.vmw9(['hgfs', 'shares'])).toMatchObject({ code: 0, out: 'docs\trw\nro\tro\n' });
    const r = await sim.vmw9(['--json', 'hgfs', 'shares']);
    expect(JSON.parse(r.out)).toEqual([
      { name: 'docs', writable: true },
      { name: 'ro', writable: false },
    ]);
  });

  it('ls: the shares, a directory (sorted, mode size time name), one file; --json', async () => {
    expect((await sim.vmw9(['hgfs', 'ls'])).out).toMatch(/^d\S+ +\d+ .* docs\nd\S+ +\d+ .* ro\n$/);
    const r = await sim.vmw9(['hgfs', 'ls', 'docs']);
    expect(r.code).toBe(0);
    expect(
      r.out
        .trimEnd()
        .split('\n')
        .map((l) => l.split(' ').pop()),
    ).toEqual(['a.txt', 'big.bin', 'sub']);
    expect(r.out).toMatch(/^-rw\S+ +6 \d{4}-\d\d-\d\d \d\d:\d\d a\.txt$/m);
    const j = JSON.parse((await sim.vmw9(['--json', 'hgfs', 'ls', 'docs/a.txt'])).out);
    expect(j).toEqual([expect.objectContaining({ name: 'a.txt', type: 'file', size: 6 })]);
    expect(await sim.vmw9(['hgfs', 'ls', 'docs/none'])).toMatchObject({ code: 1 });
    expect((await sim.vmw9(['hgfs', 'ls', 'docs/none'])).err).toMatch(/NO_SUCH_FILE_OR_DIR \(ENOENT\)/);
  });

  it('get: to a file (same checksum), to standard output; put: a file and standard input', async () => {
    const dest = join(base, 'got.bin');
    expect(await sim.vmw9(['hgfs', 'get', 'docs/big.bin', dest])).toMatchObject({ code: 0, out: '' });
    expect(sum(readFileSync(dest))).toBe(sum(big));
    expect(await sim.vmw9(['hgfs', 'get', 'docs/a.txt', '-'])).toMatchObject({ code: 0, out: 'alpha\n' });
    const j = JSON.parse((await sim.vmw9(['--json', 'hgfs', 'get', 'docs/a.txt', join(base, 'a')])).out);
    expect(j).toMatchObject({ path: 'docs/a.txt', bytes: 6 });

    writeFileSync(join(base, 'up.bin'), big.subarray(0, 1_234_567));
    expect(await sim.vmw9(['hgfs', 'put', join(base, 'up.bin'), 'docs/sub/up.bin'])).toMatchObject({
      code: 0,
    });
    expect(sum(readFileSync(join(share, 'sub', 'up.bin')))).toBe(sum(big.subarray(0, 1_234_567)));
    expect(await sim.vmw9(['hgfs', 'put', '-', 'docs/piped.txt'], 'through a pipe\n')).toMatchObject({
      code: 0,
    });
    expect(readFileSync(join(share, 'piped.txt'), 'utf8')).toBe('through a pipe\n');
    // Put over an existing file replaces it.
    expect(await sim.vmw9(['hgfs', 'put', '-', 'docs/piped.txt'], 'x')).toMatchObject({ code: 0 });
    expect(readFileSync(join(share, 'piped.txt'), 'utf8')).toBe('x');
  });

  it('says what is wrong: a directory, a read-only share, a usage error', async () => {
    expect(await sim.vmw9(['hgfs', 'get', 'docs/sub'])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/is a directory/),
    });
    const r = await sim.vmw9(['hgfs', 'put', '-', 'ro/x'], 'no');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ACCESS_DENIED/);
    expect(await sim.vmw9(['hgfs', 'get', 'docs'])).toMatchObject({ code: 2 });
    expect(await sim.vmw9(['hgfs', 'ls', 'docs/../etc'])).toMatchObject({ code: 2 });
  });
});
