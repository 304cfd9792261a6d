/**
 * The copypaste service against vmx-sim's copy/paste controller (in process, and over the
 * simulator's socket): the version 4 negotiation on `toolbox-dnd`, the host's pushes and requests
 * reaching the tree's `snarf`, `clip/`, `snarfwait` and `events`, every format, big messages,
 * interleaved changes, a host that misbehaves (a clear log line, nothing changed, the agent still
 * answering), the legacy fallback, and the options as vmusr answers them.
 */
import { join } from 'node:path';
import {
  Cmd,
  CpFormat,
  type CpFormatId,
  encodeClipboard,
  encodePacket,
  HOST_CP_VERSION_QUERY,
  textItem,
} from '@vmw9/dndcp';
import { serveHost, VmxHost, type VmxHostOptions } from '@vmw9/vmx-sim';
import { NinepClient } from 'ninep';
import { afterEach, describe, expect, it } from 'vitest';
import { copyPasteService } from '../src/index.js';
import { cleanup, handshake, type Started, startOnSim, tempDir, waitFor } from './helpers.js';

afterEach(cleanup);

const DND = 'toolbox-dnd';

/** The agent's log lines (JSON), parsed. */
const logLines = (s: Started) =>
  s.logs.map((l) => JSON.parse(l) as { msg: string; level: number; [k: string]: unknown });
const logged = (s: Started, re: RegExp) => logLines(s).filter((l) => re.test(l.msg));

/** An agent on a host with copy/paste version 4; resolves once it is negotiated. */
async function v4(
  opts: { hostOptions?: VmxHostOptions; host?: VmxHost; config?: string; agent?: object } = {},
) {
  const s = await startOnSim({
    ...opts,
    config: opts.config ?? '[powerops]\nsystem-actions = false\n',
  });
  await waitFor('copy/paste negotiated', () => s.host.copyPaste.active);
  await waitFor('the engine active', () => logged(s, /version 4 negotiated/).length > 0);
  // 9P2000.u: the tree's error texts reach the test.
  const c = await NinepClient.connect(`unix!${s.fsPath}`, { version: '9P2000.u' });
  opened.push(c);
  return { ...s, c };
}

const opened: NinepClient[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

const text = async (c: NinepClient, p: string) => (await c.readFile(p)).toString();

/** Writes a whole value; the close's error (the commit's) is the call's. */
const put = (c: NinepClient, path: string, data: Uint8Array): Promise<void> => c.writeFile(path, data);

/** A reader of an event file opened now; `next()` is its next record. */
async function reader(c: NinepClient, path: string) {
  const fid = await c.walk(path);
  await c.open(fid, 'r');
  return {
    next: async () => Buffer.from(await c.read(fid, 0, 8192)).toString(),
    close: () => c.clunk(fid).catch(() => undefined),
  };
}

/** Sets the host clipboard and waits for the guest to have it (the push is announced). */
async function hostCopies(s: Started, items: Array<[CpFormatId, Buffer | string]>) {
  const before = s.agent.service(copyPasteService).guest!.stats.received;
  s.host.copyPaste.setClipboard({
    items: new Map(items.map(([f, v]) => [f, Buffer.from(v)])),
    changed: true,
  });
  await waitFor('the push taken', () => s.agent.service(copyPasteService).guest!.stats.received > before);
}

/** A V4 packet as the host sends it, with `patch` applied to its header afterwards. */
function packet(
  h: { cmd: number; sessionId: number; params?: number[]; binarySize?: number; payloadOffset?: number },
  payload: Buffer,
  patch?: (b: Buffer) => void,
): Buffer {
  const params = [...(h.params ?? []), 0, 0, 0, 0, 0, 0].slice(0, 6) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const b = encodePacket(
    {
      cmd: h.cmd,
      type: 1,
      src: 2,
      sessionId: h.sessionId,
      status: 0,
      params,
      binarySize: h.binarySize ?? payload.length,
      payloadOffset: h.payloadOffset ?? 0,
    },
    payload,
  );
  patch?.(b);
  return b;
}

describe('copy/paste version 4 with the simulated host', () => {
  it('negotiates on toolbox-dnd: the capability, the version query, the PING; ctl and status say so', async () => {
    const s = await v4();
    expect(s.host.rpci.capabilities.get('copypaste_version')).toBe('4');
    expect(s.host.copyPaste.negotiated).toMatchObject({ version: 4, guestCaps: 0x1555, caps: 0x1555 });
    const line = logged(s, /version 4 negotiated/)[0]!;
    expect(line).toMatchObject({ level: 30, version: 4, answer: '1 4' });
    expect(await text(s.c, 'ctl')).toMatch(/^clipboard v4 caps 0x1555$/m);
    expect(await text(s.c, 'version')).toMatch(/^clipboard v4 caps 0x1555$/m);
    expect(await text(s.c, 'status')).toMatch(/^service copypaste toolbox-dnd$/m);
    expect(s.agent.loops.has(DND)).toBe(true);
  });

  it("the host's copy reaches snarf and clip/text at once, with events and a snarfwait record", async () => {
    const s = await v4();
    const ev = await reader(s.c, 'events');
    const wait = await reader(s.c, 'snarfwait');
    const rec = wait.next();
    await hostCopies(s, [[CpFormat.TEXT, textItem('from the host ✓')]]);
    expect(await rec).toBe(`          1 ${String(Buffer.byteLength('from the host ✓')).padStart(11)} \n`);
    expect(await text(s.c, 'snarf')).toBe('from the host ✓');
    expect(await text(s.c, 'clip/text')).toBe('from the host ✓');
    const lines: string[] = [];
    while (!lines.includes('clip host text\n')) lines.push(await ev.next());
    expect(lines.slice(-2)).toEqual(['snarf changed\n', 'clip host text\n']);
    await ev.close();
    await wait.close();
  });

  it("a snarf write reaches the host clipboard at the host's request, never before", async () => {
    const s = await v4();
    await put(s.c, 'snarf', Buffer.from('from the guest ✓'));
    // The guest never pushes: the host clipboard is not the guest's yet.
    expect(s.host.clipboard.text().toString()).not.toBe('from the guest ✓');
    const answer = await s.host.copyPaste.request();
    expect(answer.changed).toBe(true);
    expect(s.host.clipboard.text().toString()).toBe('from the guest ✓');
    expect(s.host.clipboard.lastMove?.by).toBe('v4 guest→host');
    // Asked again: not changed.
    expect((await s.host.copyPaste.request()).changed).toBe(false);
  });

  it('each format both ways: text, rtf, html, png', async () => {
    const s = await v4();
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(5000, 3)]);
    await hostCopies(s, [
      [CpFormat.TEXT, textItem('t')],
      [CpFormat.RTF, textItem('{\\rtf1 host}')],
      [CpFormat.HTML, Buffer.from('<b>host</b>')],
      [CpFormat.IMG_PNG, png],
    ]);
    expect(await text(s.c, 'clip/text')).toBe('t');
    expect(await text(s.c, 'clip/rtf')).toBe('{\\rtf1 host}');
    expect(await text(s.c, 'clip/html')).toBe('<b>host</b>');
    expect(await s.c.readFile('clip/png')).toEqual(png);
    expect(await text(s.c, 'clip/files')).toBe('');

    const gpng = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(7000, 4)]);
    await put(s.c, 'clip/text', Buffer.from('guest'));
    await put(s.c, 'clip/rtf', Buffer.from('{\\rtf1 guest}'));
    await put(s.c, 'clip/html', Buffer.from('<i>guest</i>'));
    await put(s.c, 'clip/png', gpng);
    expect((await s.host.copyPaste.request()).changed).toBe(true);
    const h = s.host.clipboard;
    expect(h.get(CpFormat.TEXT)).toEqual(textItem('guest'));
    expect(h.get(CpFormat.RTF)).toEqual(textItem('{\\rtf1 guest}'));
    expect(h.get(CpFormat.HTML)).toEqual(Buffer.from('<i>guest</i>'));
    expect(h.get(CpFormat.IMG_PNG)).toEqual(gpng);
  });

  it('200 KiB both ways, each in several packets', async () => {
    const s = await v4();
    const big = Buffer.alloc(200 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = 0x61 + (i % 26);
    await hostCopies(s, [[CpFormat.TEXT, textItem(big)]]);
    expect(await s.c.readFile('snarf')).toEqual(big);
    const up = Buffer.from(big.toString('latin1').toUpperCase(), 'latin1');
    await put(s.c, 'snarf', up);
    await s.host.copyPaste.request();
    expect(s.host.clipboard.text()).toEqual(up);
    const guest = s.agent.service(copyPasteService).guest!;
    expect(guest.stats.requestNextOut).toBeGreaterThanOrEqual(3);
    expect(guest.stats.requestNextIn).toBeGreaterThanOrEqual(3);
  });

  it('interleaved: the host copies while the guest has a copy pending, and the other way', async () => {
    const s = await v4();
    await put(s.c, 'snarf', Buffer.from('guest pending'));
    await hostCopies(s, [[CpFormat.TEXT, textItem('host newer')]]);
    expect(await text(s.c, 'snarf')).toBe('host newer');
    // The host's own is newer: asking gets "not changed", and the host keeps its clipboard.
    expect((await s.host.copyPaste.request()).changed).toBe(false);
    expect(s.host.clipboard.text().toString()).toBe('host newer');
    // The guest copies again, then the host asks while also copying.
    await put(s.c, 'clip/text', Buffer.from('guest again'));
    const asked = s.host.copyPaste.request();
    const answer = await asked;
    expect(answer.changed).toBe(true);
    expect(s.host.clipboard.text().toString()).toBe('guest again');
    await hostCopies(s, [[CpFormat.TEXT, textItem('host last')]]);
    expect(await text(s.c, 'clip/text')).toBe('host last');
  });

  it('a write over the limit fails naming it, and nothing reaches the host', async () => {
    const s = await v4();
    const fid = await s.c.walk('clip/png');
    await s.c.open(fid, 'w', true);
    const e = await s.c.write(fid, 0, Buffer.alloc(4_194_191, 1)).then(
      () => null,
      (err: Error) => err,
    );
    expect(e?.message).toMatch(/clip\/png buffer too long: copy\/paste v4 takes at most 4194190 bytes/);
    await s.c.clunk(fid);
    expect((await s.host.copyPaste.request()).changed).toBe(false);
  });
});

describe('a host that misbehaves: a clear log line, the clipboard unchanged, the agent answering', () => {
  /** Sends raw packets, waits until the engine has counted `errors` more errors. */
  async function hostile(s: Started & { c: NinepClient }, packets: Buffer[], errors: number) {
    const guest = s.agent.service(copyPasteService).guest!;
    const before = guest.stats.errors;
    for (const p of packets) s.host.copyPaste.sendPacket(p);
    await waitFor('the errors counted', () => guest.stats.errors >= before + errors);
    expect(await text(s.c, 'snarf')).toBe('good');
    // Still answering: the next good push arrives.
    await hostCopies(s, [[CpFormat.TEXT, textItem('next')]]);
    expect(await text(s.c, 'snarf')).toBe('next');
    await hostCopies(s, [[CpFormat.TEXT, textItem('good')]]);
  }

  const refusedLines = (s: Started) => logged(s, /^copy\/paste: DnD\/CP: .*; the clipboard is unchanged$/);

  it('a truncated packet: INVALID_PACKET back, logged with the field', async () => {
    const s = await v4();
    await hostCopies(s, [[CpFormat.TEXT, textItem('good')]]);
    const whole = packet({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 77 }, Buffer.alloc(200, 1));
    await hostile(s, [whole.subarray(0, 120)], 1);
    expect(s.host.copyPaste.lastReply).toMatchObject({ cmd: 0, status: 5 });
    expect(refusedLines(s)[0]).toMatchObject({ level: 30, field: 'payloadSize' });
  });

  it('a wrong session id in the middle of a big message', async () => {
    const s = await v4();
    await hostCopies(s, [[CpFormat.TEXT, textItem('good')]]);
    const total = 150_000;
    const first = packet(
      { cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 900, binarySize: total },
      Buffer.alloc(65_380, 2),
    );
    const second = packet(
      { cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 901, binarySize: total, payloadOffset: 65_380 },
      Buffer.alloc(65_380, 2),
    );
    await hostile(s, [first, second], 1);
    expect(refusedLines(s).at(-1)).toMatchObject({ field: 'payloadOffset' });
    expect(String(refusedLines(s).at(-1)?.err)).toMatch(/session 901, but session 900 is being received/);
  });

  it('a REQUEST_NEXT for data never sent', async () => {
    const s = await v4();
    await hostCopies(s, [[CpFormat.TEXT, textItem('good')]]);
    const rn = packet(
      { cmd: Cmd.REQUEST_NEXT, sessionId: 5, params: [Cmd.CP_SEND_CLIPBOARD, 200_000, 65_380] },
      Buffer.alloc(0),
    );
    await hostile(s, [rn], 1);
    expect(String(refusedLines(s).at(-1)?.err)).toMatch(/REQUEST_NEXT, but no big message is being sent/);
  });

  it('a message over the limit: a binary past 4 MiB, and a clipboard item past the item limit', async () => {
    const s = await v4();
    await hostCopies(s, [[CpFormat.TEXT, textItem('good')]]);
    const huge = packet(
      { cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 31, binarySize: 4_194_305 },
      Buffer.alloc(100, 0),
    );
    // A clipboard whose one item claims CP_ITEM_MAX bytes: the binary fits, the item does not.
    const item = Buffer.alloc(4 + 5 + 4_194_191 + 45 + 1 - 4_194_191);
    item.writeUInt32LE(11, 0);
    item.writeUInt8(1, 4);
    item.writeUInt32LE(4_194_191, 5);
    const over = packet({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 32 }, item);
    await hostile(s, [huge, over], 2);
    const lines = refusedLines(s);
    expect(lines.some((l) => l.field === 'binarySize')).toBe(true);
    expect(lines.some((l) => String(l.field).startsWith('clipboard.'))).toBe(true);
  });
});

describe('the legacy fallback, and the options as vmusr answers them', () => {
  it('a host without version 4: logged with its answer; snarf and clip/text use the legacy clipboard', async () => {
    const host = new VmxHost();
    host.rpci.register(HOST_CP_VERSION_QUERY, () => '0 Unknown command');
    const s = await startOnSim({ host });
    await waitFor('the refusal logged', () => logged(s, /does not offer copy\/paste version 4/).length > 0);
    expect(logged(s, /does not offer copy\/paste version 4/)[0]).toMatchObject({
      level: 30,
      version: 0,
      answer: '0 Unknown command',
    });
    const c = await NinepClient.connect(`unix!${s.fsPath}`, { version: '9P2000.u' });
    opened.push(c);
    expect(await text(c, 'ctl')).toMatch(/^clipboard legacy$/m);
    host.clipboard.setText('legacy host', 'api');
    expect(await text(c, 'snarf')).toBe('legacy host');
    await put(c, 'clip/text', Buffer.from('legacy guest'));
    expect(host.clipboard.text().toString()).toBe('legacy guest');
    expect(host.clipboard.lastMove?.by).toBe('legacy guest→host');
    await expect(c.readFile('clip/rtf')).rejects.toThrow(/legacy clipboard carries text only/);
    // Never negotiated: the transport has no handler, as in vmusr (docs/protocol/dndcp.md §2.1).
    host.tclo.queueCommand(Buffer.from('copypaste.transport x'), DND);
    expect((await host.tclo.waitForReply('copypaste.transport x')).reply).toBe('ERROR Unknown Command');
  });

  it('[copypaste] enabled = false: the legacy clipboard; no toolbox-dnd channel when [dnd] is off too', async () => {
    const s = await startOnSim({
      config: '[powerops]\nsystem-actions = false\n[copypaste]\nenabled = false\n[dnd]\nenabled = false\n',
    });
    await handshake(s.host);
    expect(s.agent.loops.has(DND)).toBe(false);
    expect(s.agent.service(copyPasteService).guest).toBeNull();
    const c = await s.client();
    expect(await text(c, 'ctl')).toMatch(/^clipboard legacy$/m);
    s.host.clipboard.setText('legacy only', 'api');
    expect(await text(c, 'snarf')).toBe('legacy only');
  });

  it('Set_Option on toolbox-dnd: copypaste 0/1 switch, enableDnD accepted, anything else refused', async () => {
    const s = await v4();
    const opt = async (text: string) => {
      s.host.tclo.queueCommand(`Set_Option ${text}`, DND);
      return (await s.host.tclo.waitForReply(`Set_Option ${text}`)).reply;
    };
    expect(await opt('copypaste 7')).toBe('ERROR Unknown or invalid option');
    expect(s.agent.options.get('copypaste')).toBe('1');
    expect(await opt('enableDnD 2')).toBe('OK ');
    expect(await opt('synctime 1')).toBe('ERROR Unknown or invalid option');
    expect(await opt('copypaste 0')).toBe('OK ');
    expect(await text(s.c, 'ctl')).toMatch(/^clipboard legacy$/m);
    // Off: as vmusr, whose handler stays once registered, a packet is answered `OK ` and ignored
    // (a push no longer reaches snarf).
    const before = await text(s.c, 'snarf');
    const clip = encodeClipboard({ items: new Map([[CpFormat.TEXT, textItem('while off')]]), changed: true });
    const push = encodePacket(
      {
        cmd: Cmd.CP_RECV_CLIPBOARD,
        type: 1,
        src: 2,
        sessionId: 99,
        status: 0,
        params: [4, 0, 0, 1, 0, 0],
        binarySize: clip.length,
        payloadOffset: 0,
      },
      clip,
    );
    const offPush = Buffer.concat([Buffer.from('copypaste.transport '), push]);
    s.host.tclo.queueCommand(offPush, DND);
    await waitFor('the answer while off', () =>
      s.host.tclo.replies.some((r) => r.raw.length > 0 && r.command === offPush.toString('utf8')),
    );
    expect(s.host.tclo.replies.find((r) => r.command === offPush.toString('utf8'))?.reply).toBe('OK ');
    expect(await text(s.c, 'snarf')).toBe(before);
    const sentBefore = s.agent.service(copyPasteService).guest!.stats.messagesOut;
    expect(await opt('copypaste 1')).toBe('OK ');
    // As vmusr: the version query and the PING went out before the answer.
    expect(s.agent.service(copyPasteService).guest!.active).toBe(true);
    expect(s.agent.service(copyPasteService).guest!.stats.messagesOut).toBe(sentBefore + 1);
    expect(await text(s.c, 'ctl')).toMatch(/^clipboard v4/m);
    // Nothing after the space: vmusr's answer.
    s.host.tclo.queueCommand(Buffer.from('copypaste.transport '), DND);
    await waitFor('invalid arg size', () =>
      s.host.tclo.replies.some((r) => r.reply === 'ERROR invalid arg size'),
    );
  });

  it('a host reset forgets the negotiation until the host enables it again', async () => {
    const s = await v4();
    const pings = s.host.copyPaste.stats.pings;
    s.host.reset();
    await waitFor(
      'negotiated again after the reset',
      () => s.host.copyPaste.stats.pings > pings && s.host.copyPaste.active,
    );
    await waitFor('the engine active', () => s.agent.service(copyPasteService).guest!.active);
    await hostCopies(s, [[CpFormat.TEXT, textItem('after the reset')]]);
    expect(await text(s.c, 'snarf')).toBe('after the reset');
  });
});

describe('over the simulator socket', () => {
  it('both directions through unix!PATH', async () => {
    const dir = tempDir();
    const host = new VmxHost();
    const sim = await serveHost(host, join(dir, 'vmx.sock'));
    try {
      const s = await v4({ host, agent: { host: `unix!${join(dir, 'vmx.sock')}` } });
      expect(s.agent.transport.kind).toBe('unix');
      await hostCopies(s, [[CpFormat.TEXT, textItem('over the socket')]]);
      expect(await text(s.c, 'snarf')).toBe('over the socket');
      await put(s.c, 'snarf', Buffer.from('back over the socket'));
      await host.copyPaste.request();
      expect(host.clipboard.text().toString()).toBe('back over the socket');
      await s.agent.stop();
    } finally {
      await sim.close();
    }
  });
});
