/** `9p`'s address: a socket path as well as a dial string, and the caller's default when left out. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NinepCommandOptions, ninepCommand } from '../src/cli.js';
import { createRamfs, type Listener, NinepServer, RamFile } from '../src/index.js';

let server: NinepServer;
let listener: Listener;
let sock: string;

beforeAll(async () => {
  const root = createRamfs('root');
  const f = root.add(new RamFile('hello', 0o644, 'root'));
  await f.write({ user: { uname: 'root', nUname: 0 }, mode: null, aux: undefined }, 0, Buffer.from('hi\n'));
  server = new NinepServer({ root, permissions: false });
  sock = join(mkdtempSync(join(tmpdir(), 'ninep-cli-')), 's.sock');
  listener = await server.listen(`unix!${sock}`);
});
afterAll(async () => {
  await listener.close();
  await server.close();
});

async function run(args: string[], opts?: NinepCommandOptions) {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (d: Buffer) => (o += d));
  err.on('data', (d: Buffer) => (e += d));
  const code = await ninepCommand(args, { stdin: Readable.from([]), stdout: out, stderr: err }, opts);
  return { code, out: o, err: e };
}

describe('9p ADDR', () => {
  it('takes a bare socket path as a Unix socket', async () => {
    expect(await run(['read', sock, '/hello'])).toEqual({ code: 0, out: 'hi\n', err: '' });
    expect(await run(['read', `unix!${sock}`, '/hello'])).toEqual({ code: 0, out: 'hi\n', err: '' });
  });

  it("left out: the caller's default; without one, a usage error", async () => {
    expect(await run(['read', '/hello'], { defaultAddress: () => sock })).toEqual({
      code: 0,
      out: 'hi\n',
      err: '',
    });
    expect(await run(['read', '/hello'], { defaultAddress: async () => `unix!${sock}` })).toMatchObject({
      code: 0,
      out: 'hi\n',
    });
    expect((await run(['read', '/hello'])).code).toBe(2);
    // An address given still wins over the default.
    expect(await run(['read', sock, '/hello'], { defaultAddress: () => '/nonexistent.sock' })).toMatchObject({
      code: 0,
      out: 'hi\n',
    });
  });

  it('a default that cannot be found fails (exit 1) with its own words', async () => {
    const r = await run(['read', '/hello'], {
      defaultAddress: () => {
        throw new Error('no agent: no socket at /x');
      },
    });
    expect(r).toEqual({ code: 1, out: '', err: '9p: no agent: no socket at /x\n' });
  });
});
