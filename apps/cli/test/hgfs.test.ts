/**
 * `vmw9 hgfs shares|ls|get|put` against a simulated host whose shares are real directories.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, runVmw9, useSimHost } from './sim-host.js';

const work = mkdtempSync(join(tmpdir(), 'vmw9-hgfs-cli-'));
const docs = join(work, 'docs');
const ro = join(work, 'ro');
mkdirSync(join(docs, 'sub'), { recursive: true });
mkdirSync(ro);
writeFileSync(join(docs, 'a.txt'), 'hello from the host\n');
writeFileSync(join(ro, 'keep.txt'), 'read only\n');
symlinkSync('sub/../a.txt', join(docs, 'link'));
const big = randomBytes(3 * 1024 * 1024 + 17);
writeFileSync(join(docs, 'big.bin'), big);

const sim = useSimHost({
  hgfs: {
    shares: [
      { name: 'docs', dir: docs, readOnly: false },
      { name: 'ro', dir: ro, readOnly: true },
    ],
  },
});
const vmw9 = sim.vmw9;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** `vmw9 --host … ARGS` with binary standard input and output. */
function vmw9Bytes(
  args: string[],
  stdin: Buffer,
): Promise<{ code: number | null; out: Buffer; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [bin, '--host', sim.addr, ...args]);
    const out: Buffer[] = [];
    let err = '';
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => resolve({ code, out: Buffer.concat(out), err }));
    c.stdin.end(stdin);
  });
}

describe('vmw9 hgfs', () => {
  it('shares lists both shares and says which is read-only', async () => {
    const r = await vmw9(['hgfs', 'shares']);
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out.split('\n').filter(Boolean).sort()).toEqual(['docs', 'ro  (read-only)']);
    const j = await vmw9(['--json', 'hgfs', 'shares']);
    expect(
      JSON.parse(j.out)
        .map((s: { name: string }) => s.name)
        .sort(),
    ).toEqual(['docs', 'ro']);
  });

  it('ls shows a directory as ls -l does, with the link target exact', async () => {
    const r = await vmw9(['hgfs', 'ls', 'docs']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines.map((l) => l.split(' ').slice(-1)[0])).toEqual(['a.txt', 'big.bin', 'sub/../a.txt', 'sub']);
    expect(lines[0]).toMatch(/^-rw-r--r-- +20 \d{4}-\d\d-\d\d \d\d:\d\d a\.txt$/);
    expect(lines.find((l) => l.includes('link'))).toMatch(/^l.* link -> sub\/\.\.\/a\.txt$/);
    expect(lines.find((l) => l.endsWith(' sub'))).toMatch(/^d/);
    const j = JSON.parse((await vmw9(['--json', 'hgfs', 'ls', 'docs/big.bin'])).out);
    expect(j).toEqual([
      expect.objectContaining({ name: 'big.bin', type: 'file', size: big.length, mode: '0644' }),
    ]);
  });

  it('ls shows control characters in a host name as ?, never as terminal escapes; --json keeps the name exact', async () => {
    const d = join(docs, 'ctl');
    mkdirSync(d);
    const evil = 'x\x1b]0;pwned\x07\x1b[2Jy';
    writeFileSync(join(d, evil), '');
    symlinkSync(`t\x1b[31m`, join(d, 'l'));
    const r = await vmw9(['hgfs', 'ls', 'docs/ctl']);
    expect(r.code).toBe(0);
    expect(r.out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(r.out).toContain('x?]0;pwned??[2Jy');
    expect(r.out).toContain('l -> t?[31m');
    const j = JSON.parse((await vmw9(['--json', 'hgfs', 'ls', 'docs/ctl'])).out) as { name: string }[];
    expect(j.map((e) => e.name)).toContain(evil);
  });

  it('get copies a 3 MB file exactly, to a file, a directory or standard output', async () => {
    const dest = join(work, 'got.bin');
    expect(await vmw9(['hgfs', 'get', 'docs/big.bin', dest])).toMatchObject({ code: 0, out: '', err: '' });
    expect(sha(readFileSync(dest))).toBe(sha(big));
    const into = join(work, 'into');
    mkdirSync(into);
    const j = await vmw9(['--json', 'hgfs', 'get', 'docs/a.txt', into]);
    expect(JSON.parse(j.out)).toMatchObject({ path: 'docs/a.txt', local: join(into, 'a.txt'), bytes: 20 });
    // Nothing but the file itself is left behind (the temporary name was renamed).
    expect(readdirSync(into)).toEqual(['a.txt']);
    const out = await vmw9Bytes(['hgfs', 'get', 'docs/big.bin', '-'], Buffer.alloc(0));
    expect(out.code).toBe(0);
    expect(sha(out.out)).toBe(sha(big));
  });

  it('put writes a file into a share (named, into a directory, from standard input)', async () => {
    const src = join(work, 'up.bin');
    const data = randomBytes(2 * 1024 * 1024 + 5);
    writeFileSync(src, data);
    expect(await vmw9(['hgfs', 'put', src, 'docs/sub/'])).toMatchObject({ code: 0, err: '' });
    expect(sha(readFileSync(join(docs, 'sub', 'up.bin')))).toBe(sha(data));
    expect((await vmw9(['hgfs', 'put', src, 'docs/renamed.bin'])).code).toBe(0);
    expect(sha(readFileSync(join(docs, 'renamed.bin')))).toBe(sha(data));
    const piped = await vmw9Bytes(['hgfs', 'put', '-', 'docs/piped.bin'], data);
    expect(piped).toMatchObject({ code: 0 });
    expect(sha(readFileSync(join(docs, 'piped.bin')))).toBe(sha(data));
    // Only the files put are there: no temporary name is left.
    expect(readdirSync(join(docs, 'sub'))).toEqual(['up.bin']);
  });

  it('errors are one line with the HGFS detail, and leave nothing behind', async () => {
    const missing = await vmw9(['hgfs', 'get', 'docs/nope.txt', join(work, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toMatch(
      /^vmw9: hgfs get: docs\/nope\.txt: no such file or directory \(HGFS GETATTR_V3: NO_SUCH_FILE_OR_DIR\)\n$/,
    );
    const refused = await vmw9(['hgfs', 'put', join(docs, 'a.txt'), 'ro/new.txt']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^vmw9: hgfs put: ro\/new\.txt: (permission denied|read-only share)/);
    expect(readdirSync(ro)).toEqual(['keep.txt']);
    // A local destination that cannot be written is named as the user gave it.
    const nowhere = join(work, 'no-such-dir', 'a.txt');
    const unwritable = await vmw9(['hgfs', 'get', 'docs/a.txt', nowhere]);
    expect(unwritable.code).toBe(1);
    expect(unwritable.err).toContain(nowhere);
    expect(unwritable.err).not.toMatch(/vmw9-[0-9a-f]{8}/);
    expect(sim.host.hgfs.state().openFiles).toBe(0);
    expect(await vmw9(['hgfs', 'ls', 'docs/../etc'])).toMatchObject({ code: 2 });
    expect(await vmw9(['hgfs', 'get', 'docs'])).toMatchObject({ code: 2 });
    expect(await vmw9(['hgfs', '--channels', '0', 'shares'])).toMatchObject({ code: 2 });
  });

  it('a host without shared folders is said to be one', async () => {
    const r = await runVmw9(['--host', 'sim', 'hgfs', 'shares']);
    // `--host sim` is a fresh host with no share: an empty list, not an error.
    expect(r).toMatchObject({ code: 0, out: '' });
  });
});
