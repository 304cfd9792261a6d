/**
 * diod, the reference 9P2000.L implementation: its diodls/diodcat clients against our ramfs, and
 * our client against diod exporting a tmpfs directory.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRamfs, DMDIR, NinepClient, NinepServer, RamFile } from '../src/index.js';
import { type Diod, requireCommand, startDiod } from './support/diod.js';
import { runNinepCommand } from './support/run-command.js';

const run = promisify(execFile);

describe('diodls and diodcat against ninep-ramfs (.L)', () => {
  const root = createRamfs('root');
  const server = new NinepServer({ root });
  let sock: string;
  beforeAll(async () => {
    sock = join(mkdtempSync(join(tmpdir(), 'ninep-diodc-')), 's.sock');
    await server.listen(`unix!${sock}`);
    const f = root.add(new RamFile('hello', 0o644, 'root'));
    f.data = Buffer.from('hello from ninep\n');
    const big = root.add(new RamFile('big', 0o644, 'root'));
    big.data = Buffer.alloc(300_000, 'z');
  });
  afterAll(() => server.close());

  it('diodls lists the tree with attributes', async () => {
    requireCommand('diodls');
    const { stdout } = await run('diodls', ['-s', sock, '-a', '', '-l']);
    expect(stdout).toMatch(/^-rw-r--r--\.?\s+1 \S+\s+\S+\s+17 .* hello$/m);
    expect(stdout).toMatch(/ 300000 .* big$/m);
  });
  it('diodcat reads files (several Treads, chunked by its msize)', async () => {
    requireCommand('diodcat');
    const { stdout } = await run('diodcat', ['-s', sock, '-a', '', 'hello', 'big'], { maxBuffer: 1 << 20 });
    expect(stdout).toBe(`hello from ninep\n${'z'.repeat(300_000)}`);
  });
  it('diodcat reports a missing file as an error', async () => {
    await expect(run('diodcat', ['-s', sock, '-a', '', 'nope'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/No such file/),
    });
  });
});

describe('our client against diod exporting a tmpfs directory', () => {
  let diod: Diod;
  let c: NinepClient;
  beforeAll(async () => {
    diod = await startDiod();
    c = await NinepClient.connect(`unix!${diod.sock}`, {
      aname: diod.export,
      uname: 'root',
      nUname: process.getuid?.() ?? 0,
    });
  });
  afterAll(async () => {
    c?.close();
    await diod?.stop();
  });

  it('negotiates 9P2000.L', () => {
    expect(c.dialect).toBe('9P2000.L');
    expect(c.msize).toBeLessThanOrEqual(1 << 20);
  });
  it('creates, writes, reads, stats, lists, renames and removes on the real file system', async () => {
    await c.mkdir('dir', 0o750);
    await c.writeFile('dir/f', Buffer.from('abc'));
    expect(readFileSync(join(diod.export, 'dir/f'), 'utf8')).toBe('abc');
    writeFileSync(join(diod.export, 'host'), 'from the host');
    expect((await c.readFile('host')).toString()).toBe('from the host');
    expect(await c.stat('dir/f')).toMatchObject({ name: 'f', length: 3 });
    expect((await c.stat('dir')).mode & DMDIR).toBeTruthy();
    await c.writeFile('dir/f', Buffer.from('x'));
    expect(readFileSync(join(diod.export, 'dir/f'), 'utf8')).toBe('x');
    await c.rename('dir/f', 'dir/g');
    expect((await c.readdir('dir')).map((e) => e.name)).toEqual(['g']);
    expect((await c.readdir('')).map((e) => e.name).sort()).toEqual(['dir', 'host']);
    await c.remove('dir/g');
    await c.remove('dir');
    await expect(c.stat('dir')).rejects.toMatchObject({ errno: 2 });
  });
  it('moves 2 MiB both ways with the same bytes', async () => {
    const data = Buffer.alloc(2 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
    await c.writeFile('blob', data);
    expect(readFileSync(join(diod.export, 'blob')).equals(data)).toBe(true);
    expect((await c.readFile('blob')).equals(data)).toBe(true);
  });
});

describe('the 9p command against diod over TCP (the smoke check ninep-diod-interop)', () => {
  let diod: Diod;
  beforeAll(async () => {
    // A random loopback port, as in the smoke check; another one if it happens to be taken.
    for (let attempt = 0; ; attempt++) {
      try {
        diod = await startDiod(4, 20000 + Math.floor(Math.random() * 20000));
        break;
      } catch (e) {
        if (attempt === 2) throw e;
      }
    }
    writeFileSync(join(diod.export, 'f'), 'hello-from-diod\n');
  });
  afterAll(() => diod?.stop());
  const cmd = runNinepCommand;

  it('reads the export when it is named, as diod requires', async () => {
    expect(await cmd(['read', '-A', diod.export, diod.sock, '/f'])).toEqual({
      code: 0,
      out: 'hello-from-diod\n',
      err: '',
    });
  });
  it('without a tree name, diod refuses the attach and the command says what to do', async () => {
    // diod 1.0.24 denies every aname that is not an export path (src/libdiod/diod_exp.c,
    // diod_match_exports); its own diodcat is refused the same way without -a.
    const r = await cmd(['read', diod.sock, '/f']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /Tattach: Operation not permitted \(errno 1\)\n9p: .*--aname \(for diod: the export path\)/,
    );
    await expect(run('diodcat', ['-s', diod.sock.replace(/^tcp!(.*)!/, '$1:'), 'f'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/error attaching to aname='ctl': Operation not permitted/),
    });
  });
});
