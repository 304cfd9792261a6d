/**
 * Numbers written to control files are checked against their ranges before they reach a timer, a
 * setting or a fixed-width record; a record field never holds a number that does not fit.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpciClient } from '@vmw9/rpc';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { NinepClient } from 'ninep';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { num11, num21 } from '../src/format.js';
import { buildVmwareTree, type ServedTree, serveVmwareTree } from '../src/index.js';

let served: ServedTree;
let c: NinepClient;
beforeAll(async () => {
  const port = new SimBackdoorPort(new VmxHost());
  const tree = buildVmwareTree({ port, rpc: RpciClient.overPort(port), transport: 'sim (test)' });
  const path = join(mkdtempSync(join(tmpdir(), 'vmw9-fs-')), 'fs.sock');
  served = await serveVmwareTree(tree, { listen: `unix!${path}` });
  c = await NinepClient.connect(`unix!${path}`, { version: '9P2000.u' });
});
afterAll(async () => {
  c.close();
  await served.close();
});

const write = async (path: string, text: string) =>
  c.writeFile(path, Buffer.from(text)).then(
    () => 'ok',
    (e: Error) => e.message,
  );

describe('numbers in control files', () => {
  it('mousectl poll and scale: in range or refused', async () => {
    expect(await write('/mousectl', 'poll 99999999999999999999')).toMatch(
      /expected an integer from 1 to 10000/,
    );
    expect(await write('/mousectl', 'poll 0')).toMatch(/expected an integer from 1 to 10000/);
    expect(await write('/mousectl', 'poll 1e3')).toMatch(/expected an integer/);
    expect(await write('/mousectl', 'poll 50')).toBe('ok');
    expect(await write('/mousectl', 'scale 70000 10')).toMatch(/expected an integer from 1 to 65535/);
    expect(await write('/mousectl', 'scale 1920 1080')).toBe('ok');
  });

  it('ctl debug: a small level or refused, so it reads back as written', async () => {
    expect(await write('/ctl', 'debug 99999999999999999999999')).toMatch(
      /expected an integer from 0 to 65535/,
    );
    expect(await write('/ctl', 'debug 3')).toBe('ok');
    expect((await c.readFile('/ctl')).toString()).toMatch(/^debug 3$/m);
  });

  it('wctl size: a side that fits its 11-column field, or rio\'s "unknown control message"', async () => {
    expect(await write('/wctl', 'size 100000000000000000000000x10')).toMatch(/unknown control message/);
    expect(await write('/wctl', 'resize 0 10')).toMatch(/unknown control message/);
    expect(await write('/wctl', 'resize 1024 768')).toBe('ok');
  });
});

describe('names', () => {
  it('a guestinfo key too long for a directory entry is refused at create; the listing still reads', async () => {
    await expect(c.create(`/guestinfo/${'k'.repeat(65_480)}`)).rejects.toThrow(/longer than 255/);
    await c.writeFile('/guestinfo/short', Buffer.from('v'));
    expect((await c.readdir('/guestinfo')).map((e) => e.name)).toContain('short');
  });
});

describe('snarf', () => {
  it('after a write that is too long, later writes on that fid say why, not "not open for writing"', async () => {
    const fid = await c.walk('/snarf');
    await c.open(fid, 'w');
    await expect(c.write(fid, 0, Buffer.alloc(70_000, 0x61))).rejects.toThrow(/snarf buffer too long/);
    await expect(c.write(fid, 70_000, Buffer.from('more'))).rejects.toThrow(
      /an earlier write failed; reopen to copy again/,
    );
    await c.clunk(fid);
  });
});

describe('fixed-width record fields', () => {
  it('refuse a number that does not fit instead of widening the record', () => {
    expect(num11(12345678901)).toBe('12345678901 ');
    expect(() => num11(123456789012)).toThrow(RangeError);
    expect(() => num11(1e23)).toThrow(/does not fit a 11-column record field/);
    expect(() => num11(1.5)).toThrow(RangeError);
    expect(num21(2n ** 63n - 1n)).toBe('  9223372036854775807 ');
  });
});
