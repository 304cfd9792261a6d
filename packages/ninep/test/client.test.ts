/** Our client against our server over real sockets, in each dialect; the CLI; listening defaults. */
import { createHash } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ninepCommand } from '../src/cli.js';
import {
  CtlFile,
  createRamfs,
  DMDIR,
  Errno,
  EventFile,
  type FidContext,
  File,
  NinepClient,
  NinepServer,
  p9err,
  parseDial,
  RamFile,
  RemoteError,
  runtimeDir,
} from '../src/index.js';
import { runNinepCommand } from './support/run-command.js';

const root = createRamfs('none');
const events = root.add(new EventFile('events', 0o444));
root.add(new CtlFile('ctl', [{ name: 'go', args: 0, run: () => undefined }]));
/** Commits what was written at close, as snarf does, and refuses the value `no` there. */
class CommitFile extends File {
  value = '';
  override open(fid: FidContext): void {
    fid.aux = [];
  }
  override write(fid: FidContext, _offset: number, data: Uint8Array): number {
    (fid.aux as Buffer[]).push(Buffer.from(data));
    return data.length;
  }
  override clunk(fid: FidContext): void {
    const v = Buffer.concat(fid.aux as Buffer[]).toString();
    if (v === 'no') throw p9err(Errno.EINVAL, 'refused at close');
    this.value = v;
  }
}
const commit = root.add(new CommitFile('commit', 0o666));
const server = new NinepServer({ root, permissions: false });
let addr: string;
beforeAll(async () => {
  addr = (await server.listen(`unix!${join(mkdtempSync(join(tmpdir(), 'ninep-')), 's.sock')}`)).address;
});
afterAll(() => server.close());

describe.each(['9P2000', '9P2000.u', '9P2000.L'] as const)('client over %s', (version) => {
  const d = `t-${version}`;
  it('negotiates, creates, writes, reads back, stats, lists, renames, removes', async () => {
    const c = await NinepClient.connect(addr, { version });
    expect(c.dialect).toBe(version);
    await c.mkdir(d);
    await c.writeFile(`${d}/f`, Buffer.from('hello'));
    expect((await c.readFile(`${d}/f`)).toString()).toBe('hello');
    await c.writeFile(`${d}/f`, Buffer.from('hi'));
    expect((await c.readFile(`${d}/f`)).toString()).toBe('hi');
    const st = await c.stat(`${d}/f`);
    expect(st).toMatchObject({ name: 'f', length: 2, mode: 0o644 });
    expect((await c.stat(d)).mode & DMDIR).toBeTruthy();
    await c.rename(`${d}/f`, `${d}/g`);
    expect((await c.readdir(d)).map((e) => e.name)).toEqual(['g']);
    await expect(c.stat(`${d}/f`)).rejects.toMatchObject({ errno: 2 });
    await expect(c.remove(d)).rejects.toBeInstanceOf(RemoteError);
    await c.remove(`${d}/g`);
    await c.remove(d);
    c.close();
  });
  it('writeFile reports the close’s error: a file that commits on close says there whether it took the value', async () => {
    const c = await NinepClient.connect(addr, { version });
    await c.writeFile('commit', Buffer.from(`yes ${version}`));
    expect(commit.value).toBe(`yes ${version}`);
    await expect(c.writeFile('commit', Buffer.from('no'))).rejects.toMatchObject({
      message: expect.stringMatching(version === '9P2000' ? /refused at close/ : /refused at close|Invalid/),
    });
    expect(commit.value).toBe(`yes ${version}`);
    c.close();
  });
  it('moves 3 MiB in msize-sized pieces with the same checksum', async () => {
    const c = await NinepClient.connect(addr, { version, msize: 65536 });
    expect(c.msize).toBe(65536);
    const data = Buffer.alloc(3 << 20);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    await c.writeFile(`big-${version}`, data);
    const back = await c.readFile(`big-${version}`);
    const sum = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(sum(back)).toBe(sum(data));
    await c.remove(`big-${version}`);
    c.close();
  });
  it('flushes a blocked read through an AbortSignal and keeps working', async () => {
    const c = await NinepClient.connect(addr, { version });
    const fid = await c.walk('events');
    await c.open(fid, 'r');
    const ac = new AbortController();
    const blocked = c.read(fid, 0, 100, ac.signal);
    await new Promise((r) => setTimeout(r, 30));
    expect(events.blockedReaders).toBe(1);
    ac.abort();
    await expect(blocked).rejects.toThrow();
    expect(events.blockedReaders).toBe(0);
    const next = c.read(fid, 0, 100);
    await new Promise((r) => setTimeout(r, 30));
    events.post('ping');
    expect(Buffer.from(await next).toString()).toBe('ping');
    await c.clunk(fid);
    c.close();
  });
});

describe('cli', () => {
  const run = runNinepCommand;
  it('ls, read, write, stat, create, rm', async () => {
    expect((await run(['create', addr, 'cli/'])).code).toBe(0);
    expect((await run(['create', addr, 'cli/a'], 'first')).code).toBe(0);
    expect((await run(['read', addr, 'cli/a'])).out).toBe('first');
    expect(await run(['write', addr, 'cli/a'], 'second')).toMatchObject({ code: 0 });
    expect((await run(['read', addr, 'cli/a'])).out).toBe('second');
    expect((await run(['ls', addr, 'cli'])).out).toMatch(/^-rw-r--r-- \S+ \S+ 6 \S+ a\n$/);
    expect((await run(['-D', '9P2000.L', 'stat', addr, 'cli/a'])).out).toMatch(
      /qid path \d+ version \d+ type 0x0 {2}mode 0644 {2}dialect 9P2000\.L/,
    );
    // By default the command asks for 9P2000.u, whose errors carry the server's text.
    expect((await run(['stat', addr, 'cli/a'])).out).toMatch(/dialect 9P2000\.u\n$/);
    expect((await run(['--dialect=9P2000', 'stat', addr, 'cli/a'])).out).toMatch(/dialect 9P2000\n$/);
    expect(await run(['rm', addr, 'cli'])).toMatchObject({
      code: 1,
      err: expect.stringMatching(/directory is not empty/),
    });
    expect((await run(['rm', addr, 'cli/a'])).code).toBe(0);
    expect((await run(['read', addr, 'cli/a'])).err).toMatch(/file does not exist/);
    // On a terminal, create does not wait for input that never comes: it makes an empty file.
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    const sink = new PassThrough();
    expect(await ninepCommand(['create', addr, 'cli/tty'], { stdin: tty, stdout: sink, stderr: sink })).toBe(
      0,
    );
    expect((await run(['stat', addr, 'cli/tty'])).out).toMatch(/ 0 \S+ tty\n/);
    expect((await run(['rm', addr, 'cli/tty'])).code).toBe(0);
    // Usage errors exit 2 with one line saying what is wrong.
    expect(await run(['frob', addr, 'x'])).toMatchObject({
      code: 2,
      err: '9p: unknown command "frob": ls, read, write, stat, create or rm (9p with no arguments prints the usage)\n',
    });
    expect(await run(['read', addr])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^9p: read takes ADDR PATH/),
    });
    expect(await run(['-n', '0', 'read', addr, 'x'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^9p: -n takes a count/),
    });
    expect(await run(['--frob', 'read', addr, 'x'])).toMatchObject({
      code: 2,
      err: expect.stringMatching(/^9p: unknown option --frob/),
    });
    expect(await run([])).toMatchObject({ code: 2, err: expect.stringMatching(/^usage: 9p /) });
    expect(await run(['--help'])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/^usage: 9p .*\n.*-n, --count N/s),
    });
    // Usage errors exit 2 with one line: a malformed address, an unknown dialect.
    expect(await run(['ls', 'tcp!host', '/'])).toMatchObject({
      code: 2,
      err: '9p: dial string "tcp!host": port "host" is not 0..65535 (9p with no arguments prints the usage)\n',
    });
    expect((await run(['-D', '9P2001', 'ls', addr, '/'])).code).toBe(2);
  });

  it('--json: entries, data and outcomes as JSON; errors as {error}', async () => {
    expect(JSON.parse((await run(['--json', 'create', addr, 'j'], 'héllo')).out)).toEqual({
      path: 'j',
      created: true,
      written: 6,
    });
    expect(JSON.parse((await run(['read', '--json', addr, 'j'])).out)).toEqual({
      path: 'j',
      reads: 2,
      text: 'héllo',
    });
    const [e] = JSON.parse((await run(['--json', 'ls', addr, 'j'])).out);
    expect(e).toMatchObject({ name: 'j', mode: '-rw-r--r--', perm: '0644', dir: false, length: 6 });
    expect(JSON.parse((await run(['--json', 'stat', addr, 'j'])).out)).toMatchObject({
      name: 'j',
      dialect: '9P2000.u',
    });
    await run(['write', addr, 'j'], Buffer.from([0xff, 0x00]));
    expect(JSON.parse((await run(['--json', 'read', addr, 'j'])).out)).toEqual({
      path: 'j',
      reads: 2,
      base64: '/wA=',
    });
    expect(JSON.parse((await run(['--json', 'rm', addr, 'j'])).out)).toEqual({ path: 'j', removed: true });
    expect(await run(['--json', 'read', addr, 'j'])).toMatchObject({ code: 1 });
    expect(JSON.parse((await run(['--json', 'read', addr, 'j'])).out).error).toMatch(
      /read j: .*file does not exist/,
    );
  });

  it('read streams each read as it arrives; -n N stops an event file after N reads', async () => {
    const reading = run(['-n', '2', 'read', addr, 'events']);
    // Each record is one read's worth; the command returns after the second.
    while (events.blockedReaders === 0) await new Promise((r) => setImmediate(r));
    for (const e of ['one\n', 'two\n', 'three\n']) events.post(e);
    expect(await reading).toMatchObject({ code: 0, out: 'one\ntwo\n' });
    // A bare path is a Unix socket; one nothing listens on is said so in words.
    expect(await run(['ls', '/nonexistent/x.sock', '/'])).toMatchObject({
      code: 1,
      err: '9p: ls /: cannot connect to unix!/nonexistent/x.sock: no such socket (ENOENT)\n',
    });
    const bare = addr.replace(/^unix!/, '');
    expect((await run(['ls', bare, '/'])).code).toBe(0);
  });

  it("the server's own error text reaches the user through the default dialect", async () => {
    expect(await run(['write', addr, 'ctl'], 'frobnicate now')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/unknown control message: "frobnicate now"/),
    });
    // Asked for .L, only the errno comes back (Rlerror has no text).
    expect((await run(['-D', '9P2000.L', 'write', addr, 'ctl'], 'frobnicate now')).err).toMatch(
      /Invalid argument \(errno 22\)/,
    );
  });
});

describe('listening', () => {
  it('defaults to a 0600 Unix socket in a 0700 runtime directory', async () => {
    const s = new NinepServer({ root });
    const l = await s.listen(undefined, { name: 'test.sock' });
    const d = parseDial(l.address);
    expect(d.net).toBe('unix');
    const path = d.net === 'unix' ? d.path : '';
    expect(path).toBe(join(runtimeDir(), 'test.sock'));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(runtimeDir()).mode & 0o777).toBe(0o700);
    const c = await NinepClient.connect(l.address);
    c.close();
    await s.close();
  });
  it('TCP on loopback when only a port is given', async () => {
    const s = new NinepServer({ root });
    const l = await s.listen('tcp!0');
    expect(l.address).toMatch(/^tcp!127\.0\.0\.1!\d+$/);
    const c = await NinepClient.connect(l.address, { version: '9P2000' });
    expect(c.dialect).toBe('9P2000');
    c.close();
    await s.close();
  });
  it('parses dial strings', () => {
    expect(parseDial('tcp!h!564')).toEqual({ net: 'tcp', host: 'h', port: 564 });
    expect(parseDial('unix!/a!b')).toEqual({ net: 'unix', path: '/a!b' });
    expect(parseDial('host')).toEqual({ net: 'tcp', host: 'host', port: 564 });
    expect(() => parseDial('tcp!h!99999')).toThrow(/port/);
    expect(() => parseDial('udp!x!1')).toThrow(/expected/);
  });
});

describe('ninepCommand --aname', () => {
  it('attaches the named tree (diod needs its export path as the aname)', async () => {
    // Like diod: only the export can be attached; an empty aname is refused.
    const trees: Record<string, ReturnType<typeof createRamfs>> = { '/export': createRamfs('root') };
    const f = trees['/export']!.add(new RamFile('f', 0o644, 'root'));
    await f.write(
      { user: { uname: 'root', nUname: 0 }, mode: null, aux: undefined },
      0,
      Buffer.from('from the export'),
    );
    const server = new NinepServer({
      root: (a) => {
        const t = trees[a.aname];
        if (!t) throw new Error('no such export');
        return t;
      },
      permissions: false,
    });
    const sock = join(mkdtempSync(join(tmpdir(), 'ninep-aname-')), 's.sock');
    const l = await server.listen(`unix!${sock}`);
    const run = runNinepCommand;
    const addr = `unix!${sock}`;
    for (const args of [
      ['--aname', '/export', 'read', addr, '/f'],
      ['read', '--aname', '/export', addr, '/f'],
      ['read', addr, '/f', '-A', '/export'],
      ['--aname=/export', 'read', addr, '/f'],
    ]) {
      expect(await run(args), args.join(' ')).toEqual({ code: 0, out: 'from the export', err: '' });
    }
    const refused = await run(['read', addr, '/f']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^9p: read \/f: Tattach: .*\n9p: .*empty tree name.*--aname/);
    // A refused attach of a named tree gets no hint: the name was given, it was wrong.
    expect((await run(['-A', '/elsewhere', 'read', addr, '/f'])).err).not.toMatch(/--aname/);
    expect((await run(['read', addr, '/f', '--aname'])).code).toBe(2);
    expect((await run(['read', addr, '/f', '--frob'])).code).toBe(2);
    await l.close();
    await server.close();
  });
});
