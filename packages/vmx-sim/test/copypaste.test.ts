/**
 * The host side of copy/paste version 4 against a scripted guest (DndCpEndpoint in the guest role
 * over real GuestMsg channels): the RPCI answers, the PING, pushes and requests both ways, big
 * messages, a hostile guest, and one clipboard shared with the legacy backdoor commands
 * (docs/protocol/dndcp.md, "Host side").
 */

import { Cmd as Bd, getClipboard, setClipboard, UnsupportedCommand } from '@vmw9/backdoor';
import {
  Cap,
  Cmd,
  CP_CAPS,
  CpFormat,
  type CpFormatId,
  DND_CAPS,
  DNDCP_BINARY_MAX,
  DNDCP_PAYLOAD_MAX,
  decodeClipboard,
  encodeClipboard,
  encodePacket,
  MsgSrc,
  MsgType,
  NOT_CHANGED_CLIPBOARD,
  Status,
  textItem,
} from '@vmw9/dndcp';
import { describe, expect, it } from 'vitest';
import { NotNegotiated, SimBackdoorPort, toolsOptions, VmxHost } from '../src/index.js';
import { ScriptedGuest } from './cp-guest.js';
import { close, open, rpc, TCLO } from './guest-msg.js';

const text = (s: string | Buffer) => ({
  items: new Map<CpFormatId, Buffer>([[CpFormat.TEXT, textItem(s)]]),
  changed: true,
});

async function negotiated(opts: ConstructorParameters<typeof VmxHost>[0] = {}) {
  const host = new VmxHost(opts);
  const guest = new ScriptedGuest(host);
  await guest.start();
  await guest.ping();
  return { host, guest };
}

/** What the guest's SEND_CLIPBOARD for the host's last request carries. */
async function answer(guest: ScriptedGuest, binary: Buffer, isActive = 0): Promise<void> {
  const req = guest.last(Cmd.CP_REQUEST_CLIPBOARD)!;
  await guest.sendCp({
    cmd: Cmd.CP_SEND_CLIPBOARD,
    sessionId: req.sessionId,
    params: [4, 0, 0, isActive],
    binary,
  });
}

describe('RPCI answers of a version 4 host', () => {
  it('both versions are 4, no drag is active, the capabilities are taken', async () => {
    const host = new VmxHost();
    const port = new SimBackdoorPort(host);
    expect(await rpc(port, 'vmx.capability.copypaste_version')).toBe('1 4');
    expect(await rpc(port, 'vmx.capability.dnd_version')).toBe('1 4');
    expect(await rpc(port, 'dnd.is.active')).toBe('1 0');
    expect(await rpc(port, 'tools.capability.copypaste_version 4')).toBe('1 ');
    expect(host.rpci.capabilities.get('copypaste_version')).toBe('4');
  });

  it('a transport packet is binary: its trailing zero byte is kept (a PING ends in one)', async () => {
    const { host, guest } = await negotiated();
    const rec = host.rpci.history.find((h) => h.command === 'copypaste.transport')!;
    // "copypaste.transport " + the 56-byte header, payloadSize 0 last: stripping a NUL would leave 75.
    expect(rec.request.length).toBe(20 + 56);
    expect(rec.reply.toString()).toBe('1 ');
    expect(guest.rpciReplies).toEqual(['1 ']);
    expect(host.copyPaste.stats.invalid).toBe(0);
  });

  it('an empty transport packet is answered "1 " and refused by the channel as a bad packet', async () => {
    const host = new VmxHost();
    const guest = new ScriptedGuest(host);
    await guest.start();
    await guest.sendRaw(Buffer.alloc(0));
    expect(guest.rpciReplies).toEqual(['1 ']);
    expect(host.copyPaste.stats.invalid).toBe(1);
    expect(guest.last(Cmd.REPLY)).toMatchObject({
      status: Status.INVALID_PACKET,
      params: [0, 0, 0, 0, 0, 0],
    });
  });
});

describe('negotiation', () => {
  it('PING → PING_REPLY with p1 = 4, p2 = 0, p3 = what the host accepts of the guest’s caps; type/src as the host build', async () => {
    const { host, guest } = await negotiated();
    const reply = guest.seen.find((s) => s.header.cmd === Cmd.PING_REPLY)!;
    expect(reply.header).toMatchObject({ type: MsgSrc.HOST, src: MsgType.CP, sessionId: 0 });
    expect(reply.header.params).toEqual([4, 0, CP_CAPS, 0, 0, 0]);
    expect(host.copyPaste.negotiated).toMatchObject({
      version: 4,
      minor: 0,
      guestCaps: CP_CAPS,
      caps: CP_CAPS,
    });
    expect(host.copyPaste.active).toBe(true);
    expect(host.copyPaste.stats.pings).toBe(1);
    // A guest offering more than copy/paste, or less, gets the intersection.
    await guest.ping(0xffff);
    await guest.ping(Cap.VALID | Cap.CP | Cap.PLAIN_TEXT_CP);
    expect(
      guest
        .messages()
        .filter((m) => m.cmd === Cmd.PING_REPLY)
        .map((m) => m.params[2]),
    ).toEqual([CP_CAPS, CP_CAPS, Cap.VALID | Cap.CP | Cap.PLAIN_TEXT_CP]);
    expect(host.copyPaste.negotiated?.caps).toBe(Cap.VALID | Cap.CP | Cap.PLAIN_TEXT_CP);
  });

  it('the drag-and-drop channel answers PING with DND_CAPS & the guest’s; a message no drag waits for is counted and left', async () => {
    const host = new VmxHost();
    const guest = new ScriptedGuest(host);
    await guest.start();
    await guest.dnd.sendMessage({ cmd: Cmd.PING, sessionId: 0, params: [4, 0, 0xbfff] });
    await guest.pump();
    const reply = guest.seen.find((s) => s.channel === 'dnd')!;
    expect(reply.header).toMatchObject({ cmd: Cmd.PING_REPLY, type: MsgSrc.HOST, src: MsgType.DND });
    expect(reply.header.params).toEqual([4, 0, DND_CAPS, 0, 0, 0]);
    expect(host.dnd.negotiated).toMatchObject({ version: 4, guestCaps: 0xbfff, caps: DND_CAPS });
    await guest.dnd.sendMessage({ cmd: Cmd.DND_DEST_DRAG_ENTER, sessionId: 1, params: [4, 0] });
    await guest.pump();
    expect(host.dnd.stats).toMatchObject({ pings: 1, unhandled: 1, invalid: 0 });
    expect(guest.seen.filter((s) => s.channel === 'dnd')).toHaveLength(1);
    // Copy/paste is negotiated on its own channel only.
    expect(host.copyPaste.active).toBe(false);
  });

  it('a guest on another version is recorded but not pushed to or asked', async () => {
    const host = new VmxHost();
    const guest = new ScriptedGuest(host);
    await guest.start();
    await guest.cp.sendMessage({ cmd: Cmd.PING, sessionId: 0, params: [3, 0, CP_CAPS] });
    await guest.pump();
    expect(host.copyPaste.negotiated?.version).toBe(3);
    expect(host.copyPaste.active).toBe(false);
    await expect(host.copyPaste.request()).rejects.toBeInstanceOf(NotNegotiated);
    expect(() => host.copyPaste.push()).toThrow(NotNegotiated);
  });

  it('what was negotiated is forgotten when the toolbox-dnd channel closes or answers a new reset', async () => {
    const { host, guest } = await negotiated();
    host.tclo.queueCommand('reset', 'toolbox-dnd');
    await guest.pump();
    expect(host.copyPaste.active).toBe(false);
    expect(host.copyPaste.stats.forgotten).toBe(1);
    await guest.ping();
    expect(host.copyPaste.active).toBe(true);
    // A push queued for the guest that goes away is not delivered to the next one.
    host.copyPaste.setClipboard(text('for the old guest'));
    host.reset();
    expect(host.copyPaste.active).toBe(false);
    expect(host.copyPaste.stats.forgotten).toBe(2);
    expect(host.tclo.pending()).toEqual([]);
  });

  it('the toolbox channel (vmsvc) closing forgets nothing', async () => {
    const { host } = await negotiated();
    const port = new SimBackdoorPort(host);
    const svc = await open(port, TCLO);
    await close(port, svc);
    expect(host.copyPaste.active).toBe(true);
  });
});

describe('host → guest (the user enters the VM window)', () => {
  it('setClipboard pushes at once to a negotiated guest: RECV_CLIPBOARD, isActive 1, non-zero incrementing sessions', async () => {
    const { host, guest } = await negotiated();
    const a = host.copyPaste.setClipboard(text('one'));
    await guest.pump();
    const b = host.copyPaste.setClipboard(text('two'));
    await guest.pump();
    expect(a).toBeGreaterThan(0);
    expect(b).toBe(a! + 1);
    const pushes = guest.messages().filter((m) => m.cmd === Cmd.CP_RECV_CLIPBOARD);
    expect(pushes.map((m) => m.sessionId)).toEqual([a, b]);
    expect(pushes[1]!.params).toEqual([4, 0, 0, 1, 0, 0]);
    expect(decodeClipboard(pushes[1]!.binary)).toEqual(text('two'));
    expect(host.clipboard.lastMove).toMatchObject({ by: 'v4 host→guest', sessionId: b });
    expect(host.copyPaste.stats.pushes).toBe(2);
  });

  it('set before any guest negotiated: pushed at the negotiation, and again at a re-negotiation', async () => {
    const host = new VmxHost();
    expect(host.copyPaste.setClipboard(text('waiting'))).toBeUndefined();
    expect(host.copyPaste.pushPending).toBe(true);
    const guest = new ScriptedGuest(host);
    await guest.start();
    await guest.ping();
    const first = guest.last(Cmd.CP_RECV_CLIPBOARD)!;
    expect(decodeClipboard(first.binary)).toEqual(text('waiting'));
    // vmusr pings again when it re-registers after a reset, with nothing of the host's left.
    await guest.ping();
    expect(guest.messages().filter((m) => m.cmd === Cmd.CP_RECV_CLIPBOARD)).toHaveLength(2);
  });

  it('a clipboard the guest gave the host is not pushed back at a negotiation', async () => {
    const { host, guest } = await negotiated();
    const req = host.copyPaste.request();
    await guest.pump();
    await answer(guest, encodeClipboard(text('from the guest')));
    await req;
    await guest.ping();
    expect(guest.last(Cmd.CP_RECV_CLIPBOARD)).toBeUndefined();
    expect(host.copyPaste.pushPending).toBe(false);
  });

  it('every format travels, as bytes', async () => {
    const { host, guest } = await negotiated();
    const items = new Map<CpFormatId, Buffer>([
      [CpFormat.TEXT, textItem('plain')],
      [CpFormat.RTF, Buffer.from('{\\rtf1 x}\0')],
      [CpFormat.HTML, Buffer.from('Version:0.9\r\n<b>x</b>')],
      [CpFormat.IMG_PNG, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 0xff])],
      [CpFormat.BIFF12, Buffer.from([1, 2, 3])],
    ]);
    host.copyPaste.setClipboard({ items, changed: true });
    await guest.pump();
    expect(decodeClipboard(guest.last(Cmd.CP_RECV_CLIPBOARD)!.binary).items).toEqual(items);
  });

  it('200 KiB in slices of 65380 bytes, each after the guest’s REQUEST_NEXT', async () => {
    const { host, guest } = await negotiated();
    const big = Buffer.alloc(200 * 1024, 'abcdefghij');
    host.copyPaste.setClipboard(text(big));
    await guest.pump();
    const slices = guest.seen.filter((s) => s.header.cmd === Cmd.CP_RECV_CLIPBOARD);
    const binarySize = 55 + big.length + 1;
    expect(slices.map((s) => s.header.payloadOffset)).toEqual([0, 1, 2, 3].map((i) => i * DNDCP_PAYLOAD_MAX));
    expect(slices.every((s) => s.header.binarySize === binarySize)).toBe(true);
    expect(guest.cp.stats.requestNextOut).toBe(3);
    expect(host.copyPaste.endpoint.stats.requestNextIn).toBe(3);
    expect(decodeClipboard(guest.last(Cmd.CP_RECV_CLIPBOARD)!.binary)).toEqual(text(big));
  });

  it('over the limits: refused with a DndCpLimitError naming the limit, the clipboard unchanged', async () => {
    const { host } = await negotiated();
    host.copyPaste.setClipboard(text('kept'));
    const tooBig = {
      items: new Map<CpFormatId, Buffer>([[CpFormat.IMG_PNG, Buffer.alloc(4194191)]]),
      changed: true,
    };
    expect(() => host.copyPaste.setClipboard(tooBig)).toThrow(/limit of 4194190 bytes/);
    expect(host.clipboard.text().toString()).toBe('kept');
  });
});

describe('guest → host (the user leaves the VM window)', () => {
  it('REQUEST_CLIPBOARD p1 = 4, p2 = 0, isActive 0; a changed answer becomes the host clipboard', async () => {
    const { host, guest } = await negotiated();
    const pending = host.copyPaste.request();
    await guest.pump();
    const req = guest.last(Cmd.CP_REQUEST_CLIPBOARD)!;
    expect(req.params).toEqual([4, 0, 0, 0, 0, 0]);
    expect(req.sessionId).toBeGreaterThan(0);
    await answer(guest, encodeClipboard(text('from the guest ✓')));
    const a = await pending;
    expect(a).toMatchObject({ sessionId: req.sessionId, changed: true, isActive: 0 });
    expect(host.clipboard.get(CpFormat.TEXT)).toEqual(textItem('from the guest ✓'));
    expect(host.clipboard.lastMove).toMatchObject({ by: 'v4 guest→host', sessionId: req.sessionId });
    expect(host.copyPaste.stats).toMatchObject({ requests: 1, received: 1, notChanged: 0 });
  });

  it('"not changed" leaves the host clipboard as it was', async () => {
    const { host, guest } = await negotiated();
    host.copyPaste.setClipboard(text('the host’s'));
    await guest.pump();
    const before = host.clipboard.generation;
    const pending = host.copyPaste.request();
    await guest.pump();
    await answer(guest, NOT_CHANGED_CLIPBOARD);
    expect((await pending).changed).toBe(false);
    expect(host.clipboard.generation).toBe(before);
    expect(host.clipboard.text().toString()).toBe('the host’s');
    expect(host.copyPaste.stats.notChanged).toBe(1);
  });

  it('200 KiB from the guest: the host asks for each next slice and takes the whole', async () => {
    const { host, guest } = await negotiated();
    const big = Buffer.alloc(200 * 1024, 'zyxwvutsrq');
    const pending = host.copyPaste.request();
    await guest.pump();
    await answer(guest, encodeClipboard(text(big)));
    expect((await pending).changed).toBe(true);
    expect(host.copyPaste.endpoint.stats.requestNextOut).toBe(3);
    const asks = guest.seen.filter((s) => s.header.cmd === Cmd.REQUEST_NEXT);
    expect(asks.map((s) => s.header.params.slice(0, 3))).toEqual(
      [1, 2, 3].map((i) => [Cmd.CP_SEND_CLIPBOARD, 55 + big.length + 1, i * DNDCP_PAYLOAD_MAX]),
    );
    expect(host.clipboard.text().equals(big)).toBe(true);
  });

  it('every format, and the legacy commands then read its text', async () => {
    const { host, guest } = await negotiated();
    const pending = host.copyPaste.request();
    await guest.pump();
    const items = new Map<CpFormatId, Buffer>([
      [CpFormat.TEXT, textItem('shared')],
      [CpFormat.RTF, Buffer.from('{\\rtf1 shared}\0')],
      [CpFormat.IMG_PNG, Buffer.from([0x89, 0x50, 0x4e, 0x47])],
    ]);
    await answer(guest, encodeClipboard({ items, changed: true }));
    await pending;
    expect(new Map(host.clipboard.formats())).toEqual(items);
    expect(Buffer.from(await getClipboard(guest.port)).toString()).toBe('shared');
  });
});

describe('a hostile guest: a clear error, the host clipboard unchanged', () => {
  async function setup() {
    const s = await negotiated();
    s.host.copyPaste.setClipboard(text('precious'));
    await s.guest.pump();
    const errors: Error[] = [];
    s.host.copyPaste.on('error', (e: Error) => errors.push(e));
    return { ...s, errors, generation: s.host.clipboard.generation };
  }
  const unchanged = (host: VmxHost, generation: number) => {
    expect(host.clipboard.generation).toBe(generation);
    expect(host.clipboard.text().toString()).toBe('precious');
  };

  it('a packet whose payloadSize is not its length − 56: REPLY p1 = 0, status INVALID_PACKET', async () => {
    const { host, guest, errors, generation } = await setup();
    const bad = encodePacket(
      {
        cmd: Cmd.CP_SEND_CLIPBOARD,
        type: 3,
        src: 2,
        sessionId: 1,
        status: 0,
        params: [4, 0, 0, 0, 0, 0],
        binarySize: 10,
        payloadOffset: 0,
      },
      Buffer.alloc(10),
    );
    bad.writeUInt32LE(9, 52);
    await guest.sendRaw(bad);
    expect(guest.last(Cmd.REPLY)).toMatchObject({
      status: Status.INVALID_PACKET,
      params: [0, 0, 0, 0, 0, 0],
    });
    expect(errors.at(-1)?.message).toMatch(/payloadSize/);
    expect(host.copyPaste.stats.invalid).toBe(1);
    unchanged(host, generation);
  });

  it('SEND_CLIPBOARD for a session the host did not ask for', async () => {
    const { host, guest, errors, generation } = await setup();
    await guest.sendCp({
      cmd: Cmd.CP_SEND_CLIPBOARD,
      sessionId: 999,
      params: [4, 0],
      binary: encodeClipboard(text('intruder')),
    });
    expect(errors.at(-1)?.message).toMatch(/session 999, which the host did not ask for/);
    expect(host.copyPaste.stats.refused).toBe(1);
    unchanged(host, generation);
  });

  it('an answer whose clipboard does not decode (text not UTF-8): the request fails, nothing changes', async () => {
    const { host, guest, errors, generation } = await setup();
    const pending = host.copyPaste.request();
    await guest.pump();
    const bad = encodeClipboard({
      items: new Map([[CpFormat.TEXT, Buffer.from([0xff, 0xfe, 0])]]),
      changed: true,
    });
    await answer(guest, bad);
    await expect(pending).rejects.toThrow(/UTF-8/);
    expect(errors.at(-1)?.message).toMatch(/UTF-8.*unchanged/);
    unchanged(host, generation);
  });

  it('a big answer whose sender stops after the first slice: nothing taken; the request ends with the channel', async () => {
    const { host, guest, generation } = await setup();
    const pending = host.copyPaste.request();
    await guest.pump();
    const req = guest.last(Cmd.CP_REQUEST_CLIPBOARD)!;
    const binary = encodeClipboard(text(Buffer.alloc(100_000, 'x')));
    // Only the first slice, as a guest that never serves the host's REQUEST_NEXT.
    const first = encodePacket(
      {
        cmd: Cmd.CP_SEND_CLIPBOARD,
        type: 3,
        src: 2,
        sessionId: req.sessionId,
        status: 0,
        params: [4, 0, 0, 0, 0, 0],
        binarySize: binary.length,
        payloadOffset: 0,
      },
      binary.subarray(0, DNDCP_PAYLOAD_MAX),
    );
    await guest.sendRaw(first);
    expect(host.copyPaste.endpoint.stats.requestNextOut).toBe(1);
    expect(host.copyPaste.endpoint.pending().in).toMatchObject({
      received: DNDCP_PAYLOAD_MAX,
      total: binary.length,
    });
    unchanged(host, generation);
    host.reset();
    await expect(pending).rejects.toThrow(/channel closed/);
    expect(host.copyPaste.endpoint.pending()).toEqual({});
    unchanged(host, generation);
  });

  it('a REQUEST_NEXT for data the host never sent is dropped', async () => {
    const { host, guest, generation } = await setup();
    const seen = guest.seen.length;
    await guest.sendRaw(
      encodePacket(
        {
          cmd: Cmd.REQUEST_NEXT,
          type: 3,
          src: 2,
          sessionId: 5,
          status: 0,
          params: [Cmd.CP_RECV_CLIPBOARD, 1e6, DNDCP_PAYLOAD_MAX, 0, 0, 0],
          binarySize: 0,
          payloadOffset: 0,
        },
        Buffer.alloc(0),
      ),
    );
    expect(guest.seen).toHaveLength(seen);
    expect(host.copyPaste.stats.invalid).toBe(1);
    unchanged(host, generation);
  });

  it('a binary over the 4 MiB message limit is refused at its first packet', async () => {
    const { host, guest, generation } = await setup();
    const pending = host.copyPaste.request();
    await guest.pump();
    const req = guest.last(Cmd.CP_REQUEST_CLIPBOARD)!;
    await guest.sendRaw(
      encodePacket(
        {
          cmd: Cmd.CP_SEND_CLIPBOARD,
          type: 3,
          src: 2,
          sessionId: req.sessionId,
          status: 0,
          params: [4, 0, 0, 0, 0, 0],
          binarySize: DNDCP_BINARY_MAX + 1,
          payloadOffset: 0,
        },
        Buffer.alloc(DNDCP_PAYLOAD_MAX),
      ),
    );
    expect(guest.last(Cmd.REPLY)?.status).toBe(Status.INVALID_PACKET);
    expect(host.copyPaste.endpoint.stats.requestNextOut).toBe(0);
    unchanged(host, generation);
    host.reset();
    await expect(pending).rejects.toThrow();
  });

  it('a guest that never answers: the request times out and says so', async () => {
    const host = new VmxHost({ copyPasteRequestTimeoutMs: 20 });
    const guest = new ScriptedGuest(host);
    await guest.start();
    await guest.ping();
    await expect(host.copyPaste.request()).rejects.toThrow(
      /did not answer REQUEST_CLIPBOARD \(session \d+\) within 20 ms/,
    );
    expect(host.copyPaste.stats.timeouts).toBe(1);
  });

  it('a REPLY from the guest is recorded, nothing else', async () => {
    const { host, guest, generation } = await setup();
    await guest.sendCp({ cmd: Cmd.REPLY, sessionId: 0, status: Status.INVALID_PACKET, params: [0] });
    expect(host.copyPaste.lastReply).toEqual({ cmd: 0, status: Status.INVALID_PACKET, sessionId: 0 });
    expect(host.copyPaste.stats.replies).toBe(1);
    unchanged(host, generation);
  });
});

describe('one clipboard for the legacy backdoor and version 4', () => {
  it('a legacy guest’s copy is pushed to a version 4 guest by clip push; the lastMove says who moved it', async () => {
    const { host, guest } = await negotiated();
    await setClipboard(guest.port, 'from a legacy guest');
    expect(host.clipboard.lastMove?.by).toBe('legacy guest→host');
    expect(host.guestClipboard?.data.toString()).toBe('from a legacy guest');
    expect(host.clipboard.get(CpFormat.TEXT)).toEqual(textItem('from a legacy guest'));
    host.copyPaste.push();
    await guest.pump();
    expect(decodeClipboard(guest.last(Cmd.CP_RECV_CLIPBOARD)!.binary)).toEqual(text('from a legacy guest'));
  });

  it('setHostClipboard reaches both: the legacy read and a push to the version 4 guest', async () => {
    const { host, guest } = await negotiated();
    host.setHostClipboard('both ✓');
    await guest.pump();
    expect(Buffer.from(await getClipboard(guest.port)).toString()).toBe('both ✓');
    expect(decodeClipboard(guest.last(Cmd.CP_RECV_CLIPBOARD)!.binary)).toEqual(text('both ✓'));
    host.setHostClipboard('');
    expect(host.clipboard.empty).toBe(true);
    expect((await getClipboard(guest.port)).length).toBe(0);
  });

  it('a legacy read taken while the clipboard changes is not torn', async () => {
    const host = new VmxHost();
    const port = new SimBackdoorPort(host);
    host.setHostClipboard('abcdefgh');
    const bd = (cmd: number, ebx = 0) =>
      port.call({ eax: 0x564d5868, ebx, ecx: cmd, edx: 0x5658, esi: 0, edi: 0, ebp: 0 });
    expect((await bd(Bd.GETSELLENGTH)).eax).toBe(8);
    host.setHostClipboard('XYZW1234');
    expect((await bd(Bd.GETNEXTPIECE)).eax).toBe(Buffer.from('abcd').readUInt32LE(0));
    expect((await bd(Bd.GETNEXTPIECE)).eax).toBe(Buffer.from('efgh').readUInt32LE(0));
  });

  it('legacyClipboard false: the four commands are refused as unsupported and change nothing', async () => {
    const { host, guest } = await negotiated({ legacyClipboard: false });
    host.copyPaste.setClipboard(text('v4 only'));
    await expect(getClipboard(guest.port)).rejects.toBeInstanceOf(UnsupportedCommand);
    await setClipboard(guest.port, 'ignored').catch((e: unknown) => e);
    expect(host.clipboard.text().toString()).toBe('v4 only');
    expect(host.guestClipboard).toBeNull();
    const refused = host.log
      .entries()
      .filter((e) => e.fault === 'unsupported')
      .map((e) => e.name);
    expect(refused).toEqual(expect.arrayContaining(['GETSELLENGTH', 'SETSELLENGTH']));
    const nextPiece = await guest.port.call({
      eax: 0x564d5868,
      ebx: 0,
      ecx: Bd.GETNEXTPIECE,
      edx: 0x5658,
      esi: 0,
      edi: 0,
      ebp: 0,
    });
    expect(nextPiece.eax).toBe(0xffffffff);
    // Version 4 is unaffected.
    await guest.pump();
    expect(decodeClipboard(guest.last(Cmd.CP_RECV_CLIPBOARD)!.binary)).toEqual(text('v4 only'));
  });
});

describe('the options a host sends at registration', () => {
  it('copypaste 1 and enableDnD 1 first; a value given replaces the default, other names follow', () => {
    expect(toolsOptions()).toEqual([
      ['copypaste', '1'],
      ['enableDnD', '1'],
    ]);
    expect(
      toolsOptions([
        ['synctime', '1'],
        ['copypaste', '0'],
      ]),
    ).toEqual([
      ['copypaste', '0'],
      ['enableDnD', '1'],
      ['synctime', '1'],
    ]);
    expect(new VmxHost({ options: [['enableDnD', '0']] }).tclo.options.options).toEqual([
      ['copypaste', '1'],
      ['enableDnD', '0'],
    ]);
  });
});
