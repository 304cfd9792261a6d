/**
 * `snarf`, `snarfwait`, `clip/`, `ctl`, `version` and `events` over copy/paste version 4 and the
 * legacy clipboard (docs/protocol/tree.md §2–§4a, §8), through 9P: the tree's V4 side against a
 * host made of @vmw9/dndcp's endpoint (support/cp-host.ts), its legacy side against vmx-sim.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_CLIPBOARD_SEND } from '@vmw9/backdoor';
import {
  Cap,
  CP_CAPS,
  CP_ITEM_MAX,
  type CpClipboard,
  CpFormat,
  emptyClipboard,
  encodeFileList,
  textItem,
} from '@vmw9/dndcp';
import { RpciClient } from '@vmw9/rpc';
import { SimBackdoorPort, VmxHost } from '@vmw9/vmx-sim';
import { NinepClient, RemoteError } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import { buildVmwareTree, HostEventHub, type ServedTree, serveVmwareTree } from '../src/index.js';
import { FakeCpHost, type FakeCpHostOptions } from './support/cp-host.js';

let served: ServedTree | undefined;
let client: NinepClient | undefined;
afterEach(async () => {
  client?.close();
  await served?.close();
  client = undefined;
  served = undefined;
});

/** The tree over a legacy host (vmx-sim) and a V4 host (the fake); V4 negotiated unless told not. */
async function setup(
  opts: { negotiate?: boolean; cp?: FakeCpHostOptions; version?: '9P2000' | '9P2000.u' | '9P2000.L' } = {},
) {
  const host = new VmxHost();
  const port = new SimBackdoorPort(host);
  const cp = new FakeCpHost(opts.cp);
  const tree = buildVmwareTree({
    port,
    rpc: RpciClient.overPort(port),
    events: new HostEventHub(),
    transport: 'sim (test)',
    copyPaste: cp.guest,
    // An hour: under V4 nothing may depend on polling the host.
    poll: { mouseMs: 5, snarfMs: 3_600_000 },
  });
  const path = join(mkdtempSync(join(tmpdir(), 'vmw9-clip-')), 'fs.sock');
  served = await serveVmwareTree(tree, { listen: `unix!${path}` });
  client = await NinepClient.connect(`unix!${path}`, { version: opts.version ?? '9P2000.u' });
  if (opts.negotiate !== false) expect(await cp.enable()).toBe(4);
  return { host, cp, c: client, tree };
}

const clip = (items: Array<[number, Buffer | string]>): CpClipboard => {
  const c = emptyClipboard(true);
  for (const [f, v] of items) c.items.set(f as 1, Buffer.from(v));
  return c;
};
const text = async (c: NinepClient, p: string) => (await c.readFile(p)).toString();

/** Writes a whole value; the close's error (the commit's) is the call's. */
const put = (c: NinepClient, path: string, data: Uint8Array): Promise<void> => c.writeFile(path, data);

const errorOf = async (p: Promise<unknown>): Promise<RemoteError> => {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RemoteError);
  return e as RemoteError;
};

/** A reader of `events` opened now: `next()` is its next line. */
async function eventReader(c: NinepClient) {
  const fid = await c.walk('/events');
  await c.open(fid, 'r');
  return {
    next: async () => Buffer.from(await c.read(fid, 0, 8192)).toString(),
    close: () => c.clunk(fid),
  };
}

describe('copy/paste version 4 through the tree', () => {
  it('ctl and version say which protocol is in use, with the host caps', async () => {
    const { c, cp } = await setup({ negotiate: false });
    expect(await text(c, '/ctl')).toMatch(/^snarf on\nclipboard legacy$/m);
    expect(await text(c, '/version')).toMatch(/^clipboard legacy$/m);
    await cp.enable();
    expect(await text(c, '/ctl')).toMatch(/^snarf on\nclipboard v4 caps 0x1555$/m);
    expect(await text(c, '/version')).toMatch(/^clipboard v4 caps 0x1555$/m);
    cp.guest.disable();
    expect(await text(c, '/ctl')).toMatch(/^clipboard legacy$/m);
  });

  it("the host's push reaches snarf and clip/text at once, announced in events", async () => {
    const { c, cp, host } = await setup();
    host.setHostClipboard('the legacy clipboard, not in use');
    const ev = await eventReader(c);
    await cp.push(clip([[CpFormat.TEXT, textItem('héllo from the host')]]));
    expect(await text(c, '/snarf')).toBe('héllo from the host');
    expect(await text(c, '/clip/text')).toBe('héllo from the host');
    expect(await ev.next()).toBe('snarf changed\n');
    expect(await ev.next()).toBe('clip host text\n');
    // Formats the clipboard lacks read empty.
    for (const f of ['rtf', 'html', 'png', 'files']) expect(await text(c, `/clip/${f}`)).toBe('');
    await ev.close();
  });

  it('a snarf write is what the host gets at its next request, once; then "not changed"', async () => {
    const { c, cp } = await setup();
    const ev = await eventReader(c);
    await put(c, '/snarf', Buffer.from('copied in the guest ✓'));
    expect(await ev.next()).toBe('snarf set\n');
    // The guest never pushes: nothing went to the host yet.
    expect(cp.sent).toHaveLength(0);
    const got = await cp.request();
    expect(got.changed).toBe(true);
    expect([...got.items.keys()]).toEqual([CpFormat.TEXT]);
    expect(got.items.get(CpFormat.TEXT)).toEqual(textItem('copied in the guest ✓'));
    expect(await ev.next()).toBe('clip sent text\n');
    const again = await cp.request();
    expect(again.changed).toBe(false);
    expect(again.items.size).toBe(0);
    // A paste in the guest still gets the guest's copy.
    expect(await text(c, '/snarf')).toBe('copied in the guest ✓');
    await ev.close();
  });

  it('each format both ways: text, rtf, html, png; the file list host to guest', async () => {
    const { c, cp } = await setup();
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(300, 7)]);
    const rtf = '{\\rtf1\\ansi host}';
    const html = Buffer.from('Version:0.9\r\nStartHTML:0\r\n<b>bold</b>\0', 'latin1');
    await cp.push(
      clip([
        [CpFormat.TEXT, textItem('t')],
        [CpFormat.RTF, textItem(rtf)],
        [CpFormat.HTML, html],
        [CpFormat.IMG_PNG, png],
        [
          CpFormat.FILELIST,
          encodeFileList({
            totalSize: 3n,
            relNames: ['a.txt', 'dir'],
            fullPaths: [Buffer.from('h\0a.txt'), Buffer.from('h\0dir')],
          }),
        ],
      ]),
    );
    expect(await text(c, '/clip/text')).toBe('t');
    expect(await text(c, '/clip/rtf')).toBe(rtf);
    expect(await c.readFile('/clip/html')).toEqual(html);
    expect(await c.readFile('/clip/png')).toEqual(png);
    expect(await text(c, '/clip/files')).toBe('a.txt\ndir\n');

    // Guest to host: each commit adds its format to the pending copy (the clipboard came from the
    // host, so the first starts a new copy).
    const gpng = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(100, 9)]);
    await put(c, '/clip/png', gpng);
    await put(c, '/clip/rtf', Buffer.from('{\\rtf1 guest}'));
    await put(c, '/clip/html', Buffer.from('<i>guest</i>'));
    await put(c, '/clip/text', Buffer.from('guest text'));
    const got = await cp.request();
    expect([...got.items.keys()].sort()).toEqual(
      [CpFormat.TEXT, CpFormat.RTF, CpFormat.IMG_PNG, CpFormat.HTML].sort(),
    );
    expect(got.items.get(CpFormat.IMG_PNG)).toEqual(gpng);
    expect(got.items.get(CpFormat.RTF)).toEqual(textItem('{\\rtf1 guest}'));
    expect(got.items.get(CpFormat.HTML)).toEqual(Buffer.from('<i>guest</i>'));
    expect(got.items.get(CpFormat.TEXT)).toEqual(textItem('guest text'));
    expect(await text(c, '/clip/rtf')).toBe('{\\rtf1 guest}');
    expect(await text(c, '/snarf')).toBe('guest text');
  });

  it('the commit rule: a taken copy or a host push starts a new copy; snarf always does', async () => {
    const { c, cp } = await setup();
    await put(c, '/clip/text', Buffer.from('one'));
    await put(c, '/clip/rtf', Buffer.from('{\\rtf1 one}'));
    expect([...(await cp.request()).items.keys()].sort()).toEqual([CpFormat.TEXT, CpFormat.RTF]);
    // Taken by the host: the next commit starts a new copy with that format only.
    await put(c, '/clip/html', Buffer.from('<p>two</p>'));
    expect([...(await cp.request()).items.keys()]).toEqual([CpFormat.HTML]);
    // Pending again, then the host pushes: the guest's copy is no longer current.
    await put(c, '/clip/text', Buffer.from('three'));
    await cp.push(clip([[CpFormat.RTF, textItem('{\\rtf1 host}')]]));
    expect(await text(c, '/clip/text')).toBe('');
    expect(await text(c, '/clip/rtf')).toBe('{\\rtf1 host}');
    await put(c, '/clip/html', Buffer.from('<p>four</p>'));
    expect([...(await cp.request()).items.keys()]).toEqual([CpFormat.HTML]);
    // snarf replaces the whole pending copy.
    await put(c, '/clip/rtf', Buffer.from('{\\rtf1 five}'));
    await put(c, '/snarf', Buffer.from('six'));
    const got = await cp.request();
    expect([...got.items.keys()]).toEqual([CpFormat.TEXT]);
    // An empty commit removes its format from the pending copy.
    await put(c, '/clip/text', Buffer.from('seven'));
    await put(c, '/clip/rtf', Buffer.from('{\\rtf1 seven}'));
    await put(c, '/clip/text', Buffer.alloc(0));
    expect([...(await cp.request()).items.keys()]).toEqual([CpFormat.RTF]);
  });

  it('a clip/ commit made while the host is taking the previous copy stays pending, not dropped', async () => {
    const { c, cp } = await setup();
    await put(c, '/clip/text', Buffer.from('one'));
    // The host asks; the guest's SEND_CLIPBOARD RPCI is in flight when a client commits clip/rtf.
    const gate = cp.holdNextPacket();
    const first = cp.request();
    await gate.reached;
    await put(c, '/clip/rtf', Buffer.from('{\\rtf1 two}'));
    gate.release();
    expect([...(await first).items.keys()]).toEqual([CpFormat.TEXT]);
    // The host took {text}; {text, rtf} was committed after and has not been taken: a commit adds to it.
    await put(c, '/clip/html', Buffer.from('<p>three</p>'));
    const second = await cp.request();
    expect([...second.items.keys()].sort((a, b) => a - b)).toEqual([
      CpFormat.TEXT,
      CpFormat.RTF,
      CpFormat.HTML,
    ]);
    expect(second.items.get(CpFormat.RTF)).toEqual(textItem('{\\rtf1 two}'));
  });

  it('interleaved: the host pushes while a guest copy is pending; the guest copies again after', async () => {
    const { c, cp } = await setup();
    await put(c, '/snarf', Buffer.from('guest 1'));
    await cp.push(clip([[CpFormat.TEXT, textItem('host 1')]]));
    // The newest wins for a paste; the host, asking now, is told "not changed" (its own is newer).
    expect(await text(c, '/snarf')).toBe('host 1');
    expect((await cp.request()).changed).toBe(false);
    await put(c, '/snarf', Buffer.from('guest 2'));
    expect(await text(c, '/snarf')).toBe('guest 2');
    await cp.push(clip([[CpFormat.TEXT, textItem('host 2')]]));
    await put(c, '/snarf', Buffer.from('guest 3'));
    const got = await cp.request();
    expect(got.items.get(CpFormat.TEXT)).toEqual(textItem('guest 3'));
    expect(await text(c, '/snarf')).toBe('guest 3');
  });

  it('200 KiB both ways (several packets each, REQUEST_NEXT)', async () => {
    const { c, cp } = await setup();
    const big = Buffer.alloc(200 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = 0x41 + (i % 26);
    await cp.push(clip([[CpFormat.TEXT, textItem(big)]]));
    expect(await c.readFile('/snarf')).toEqual(big);
    expect(cp.guest.stats.requestNextOut).toBeGreaterThanOrEqual(3);
    const mine = Buffer.from(big.toString('latin1').toLowerCase(), 'latin1');
    await put(c, '/snarf', mine);
    const got = await cp.request();
    expect(got.items.get(CpFormat.TEXT)).toEqual(textItem(mine));
    expect(cp.guest.stats.requestNextIn).toBeGreaterThanOrEqual(3);
  });

  it('a write over the limit fails naming the protocol and the limit; nothing is committed', async () => {
    const { c, cp } = await setup();
    const limit = CP_ITEM_MAX - 2;
    const fid = await c.walk('/snarf');
    await c.open(fid, 'w', true);
    await c.write(fid, 0, Buffer.alloc(limit, 0x61));
    const e = await errorOf(c.write(fid, limit, Buffer.from('b')));
    expect(e.ename).toBe(`snarf buffer too long: copy/paste v4 takes at most ${limit} bytes`);
    await c.clunk(fid);
    expect((await cp.request()).changed).toBe(false);
    // Exactly the limit goes through.
    await put(c, '/clip/text', Buffer.alloc(limit, 0x62));
    expect((await cp.request()).items.get(CpFormat.TEXT)?.length).toBe(limit + 1);
    const png = await errorOf(put(c, '/clip/png', Buffer.alloc(CP_ITEM_MAX, 1)));
    expect(png.ename).toBe(`clip/png buffer too long: copy/paste v4 takes at most ${CP_ITEM_MAX - 1} bytes`);
  });

  it('the total over the limit fails at the commit, naming it; the pending copy is kept', async () => {
    const { c, cp } = await setup();
    await put(c, '/clip/png', Buffer.alloc(3_000_000, 1));
    const e = await errorOf(put(c, '/clip/html', Buffer.alloc(2_000_000, 2)));
    expect(e.ename).toBe(
      'clip/html buffer too long: the clipboard would be 5000000 bytes: copy/paste v4 takes at most 4194190 bytes',
    );
    expect([...(await cp.request()).items.keys()]).toEqual([CpFormat.IMG_PNG]);
  });

  it('text that is not UTF-8, or holds a NUL, is a write error under V4', async () => {
    const { c, cp } = await setup();
    const bad = await errorOf(put(c, '/snarf', Buffer.from([0x61, 0xff, 0x62])));
    expect(bad.ename).toMatch(/^snarf: not valid UTF-8/);
    const nul = await errorOf(put(c, '/clip/text', Buffer.from('a\0b')));
    expect(nul.ename).toMatch(/^clip\/text: a NUL byte at offset 1/);
    // A character split across two writes is fine; one cut at the end is not.
    const fid = await c.walk('/snarf');
    await c.open(fid, 'w', true);
    const e = Buffer.from('é');
    await c.write(fid, 0, e.subarray(0, 1));
    await c.write(fid, 1, e.subarray(1));
    await c.clunk(fid);
    expect(await text(c, '/snarf')).toBe('é');
    const cut = await errorOf(put(c, '/snarf', e.subarray(0, 1)));
    expect(cut.ename).toMatch(/ends inside a character/);
    expect((await cp.request()).items.get(CpFormat.TEXT)).toEqual(textItem('é'));
  });

  it('a file list cannot be written; a format the host does not take is refused', async () => {
    const { c } = await setup({ cp: { caps: CP_CAPS & ~Cap.RTF_CP } });
    const files = await errorOf(put(c, '/clip/files', Buffer.from('a.txt\n')));
    expect(files.ename).toMatch(/^clip\/files: writing a file list is not supported: .*HGFS/);
    expect(files.errno).toBe(95);
    const rtf = await errorOf(put(c, '/clip/rtf', Buffer.from('{\\rtf1}')));
    expect(rtf.ename).toMatch(/the host does not take rtf \(.* lack RTF_CP\)/);
  });

  it('snarfwait gets a record at the host push, with no polling', async () => {
    const { c, cp } = await setup();
    const fid = await c.walk('/snarfwait');
    await c.open(fid, 'r');
    // A push between the open and the first read is this fid's too.
    await cp.push(clip([[CpFormat.TEXT, textItem('12345')]]));
    const rec = c.read(fid, 0, 100);
    expect(Buffer.from(await rec).toString()).toBe('          1           5 \n');
    const rec2 = c.read(fid, 0, 100);
    await cp.push(clip([[CpFormat.TEXT, textItem('1234567')]]));
    expect(Buffer.from(await rec2).toString()).toBe('          2           7 \n');
    await c.clunk(fid);
  });

  it('a bad packet from the host changes nothing', async () => {
    const { c, cp } = await setup();
    await cp.push(clip([[CpFormat.TEXT, textItem('kept')]]));
    const ev = await eventReader(c);
    await cp.deliver(Buffer.alloc(20, 1));
    await cp.idle();
    expect(cp.replies).toEqual([{ status: 5, cmd: 0 }]);
    expect(await text(c, '/snarf')).toBe('kept');
    // The events file has nothing new: the next line is from the next good push.
    await cp.push(clip([[CpFormat.TEXT, textItem('next')]]));
    expect(await ev.next()).toBe('snarf changed\n');
    expect(await text(c, '/snarf')).toBe('next');
    await ev.close();
  });
});

describe('the legacy clipboard (copy/paste v4 not negotiated)', () => {
  it('snarf and clip/text move text; the other formats answer that legacy carries text only', async () => {
    const { c, host, cp } = await setup({ negotiate: false });
    host.setHostClipboard('legacy host text');
    expect(await text(c, '/snarf')).toBe('legacy host text');
    expect(await text(c, '/clip/text')).toBe('legacy host text');
    await put(c, '/clip/text', Buffer.from('legacy guest text'));
    expect(host.clipboard.host.toString()).toBe('legacy guest text');
    for (const f of ['rtf', 'html', 'png', 'files']) {
      const r = await errorOf(text(c, `/clip/${f}`));
      expect(r.ename).toBe(
        `the host's legacy clipboard carries text only: ${f} needs copy/paste v4, which the host has not negotiated`,
      );
      const w = await errorOf(put(c, `/clip/${f}`, Buffer.from('x')));
      expect(w.ename).toMatch(/^clip\/\w+: the host's legacy clipboard carries text only/);
    }
    // Over the legacy limit: the error names it.
    const e = await errorOf(put(c, '/snarf', Buffer.alloc(MAX_CLIPBOARD_SEND + 1, 0x61)));
    expect(e.ename).toBe(
      `snarf buffer too long: the host's legacy clipboard takes at most ${MAX_CLIPBOARD_SEND} bytes`,
    );
    // Not V4 text: any bytes go (the legacy clipboard is the host's encoding).
    await put(c, '/snarf', Buffer.from([0x61, 0xff]));
    expect(host.clipboard.host).toEqual(Buffer.from([0x61, 0xff]));
    expect(cp.sent).toHaveLength(0);
  });

  it('the switch is per operation: negotiated later, disabled later', async () => {
    const { c, host, cp } = await setup({ negotiate: false });
    host.setHostClipboard('legacy');
    expect(await text(c, '/snarf')).toBe('legacy');
    await cp.enable();
    await cp.push(clip([[CpFormat.TEXT, textItem('v4')]]));
    expect(await text(c, '/snarf')).toBe('v4');
    // A fid opened under V4 and committed after a disable commits over legacy.
    const fid = await c.walk('/snarf');
    await c.open(fid, 'w', true);
    await c.write(fid, 0, Buffer.from('written under v4'));
    cp.guest.disable();
    await c.clunk(fid);
    expect(host.clipboard.host.toString()).toBe('written under v4');
    expect(await text(c, '/snarf')).toBe('written under v4');
  });

  it('a host whose version answer is not 4 leaves the legacy clipboard in use', async () => {
    const { c, cp } = await setup({ negotiate: false, cp: { version: null } });
    expect(await cp.enable()).toBe(0);
    expect(await text(c, '/ctl')).toMatch(/^clipboard legacy$/m);
    const three = new FakeCpHost({ version: '3' });
    expect(await three.enable()).toBe(3);
    expect(three.guest.active).toBe(false);
  });
});
