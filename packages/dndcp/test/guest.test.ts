// CopyPasteGuest against a scripted host (docs/protocol/dndcp.md §7).
import { describe, expect, it } from 'vitest';
import {
  Cmd,
  CopyPasteGuest,
  CP_CAPS,
  CP_ITEM_MAX,
  type CpClipboard,
  CpFormat,
  type CpFormatId,
  DNDCP_PAYLOAD_MAX,
  DndCpDecodeError,
  DndCpLimitError,
  DndCpRpcError,
  decodeClipboard,
  decodePacket,
  decodeTransport,
  encodeClipboard,
  encodePacket,
  NOT_CHANGED_CLIPBOARD,
  Status,
  textItem,
} from '../src/index.js';
import { FakeHost } from './fake-host.js';
import { patterned } from './helpers.js';
import { CP_WORD, HI_CLIPBOARD, SEND_CLIPBOARD_7_HEADER } from './vectors.js';

const text = (s: string | Buffer): CpClipboard => ({
  items: new Map([[CpFormat.TEXT as CpFormatId, textItem(s)]]),
  changed: true,
});

async function enabled(opts: ConstructorParameters<typeof FakeHost>[0] = {}): Promise<FakeHost> {
  const h = new FakeHost(opts);
  expect(await h.guest.enable()).toBe(4);
  return h;
}

describe('negotiation', () => {
  it('asks vmx.capability.copypaste_version, then PINGs {4, 0, caps} on copypaste.transport', async () => {
    const h = new FakeHost();
    expect(h.guest.active).toBe(false);
    expect(h.guest.version).toBe(0);
    expect(await h.guest.enable()).toBe(4);
    expect(h.rpci).toHaveLength(2);
    expect(h.rpci[0]?.toString('latin1')).toBe('vmx.capability.copypaste_version');
    const ping = decodeTransport(h.rpci[1] as Buffer);
    expect(ping?.channel).toBe('cp');
    const { header, payload } = decodePacket(ping?.packet as Buffer);
    expect(header).toMatchObject({ cmd: Cmd.PING, type: 3, src: 2, sessionId: 0, status: 0, binarySize: 0 });
    expect(header.params).toEqual([4, 0, CP_CAPS, 0, 0, 0]);
    expect(payload).toHaveLength(0);
    expect(h.guest.active).toBe(true);
    expect(h.guest.version).toBe(4);
    expect(h.guest.hostCaps).toBeUndefined();
  });

  it('offers the caps it is given; PING_REPLY p3 becomes hostCaps', async () => {
    const h = await enabled({ caps: 0x15 });
    expect(decodePacket(decodeTransport(h.rpci[1] as Buffer)?.packet as Buffer).header.params[2]).toBe(0x15);
    await h.send({ cmd: Cmd.PING_REPLY, sessionId: 0, params: [4, 0, 0x0411] });
    expect(h.guest.hostCaps).toBe(0x0411);
  });

  it('reads the version as atoi does (" 4 " is 4, "4x" is 4)', async () => {
    for (const v of [' 4 ', '4x', '+4'] as const)
      expect(await new FakeHost({ version: v }).guest.enable()).toBe(4);
    expect(await new FakeHost({ version: 'x4' }).guest.enable()).toBe(0);
  });

  it('a version 3 host: 3, inactive, no PING, and packets are not taken', async () => {
    const h = new FakeHost({ version: '3' });
    expect(await h.guest.enable()).toBe(3);
    expect(h.guest.active).toBe(false);
    expect(h.rpci).toHaveLength(1);
    await h.requestClipboard(1);
    expect(h.rpci).toHaveLength(1);
    expect(h.errors.at(-1)?.message).toMatch(/not enabled/);
  });

  it('a host without the RPC ("0 Unknown command"): 0, inactive', async () => {
    const h = new FakeHost({ version: 'fail' });
    expect(await h.guest.enable()).toBe(0);
    expect(h.guest.active).toBe(false);
    expect(h.rpci).toHaveLength(1);
  });

  it('a channel that throws: 0, inactive, an error event, no throw', async () => {
    const h = new FakeHost({ version: 'throw' });
    expect(await h.guest.enable()).toBe(0);
    expect(h.guest.active).toBe(false);
    expect(h.errors[0]).toBeInstanceOf(DndCpRpcError);
  });

  it('a failed PING is an error event; the guest is active all the same', async () => {
    const h = new FakeHost({ failTransport: 1 });
    expect(await h.guest.enable()).toBe(4);
    expect(h.guest.active).toBe(true);
    expect(h.errors[0]).toBeInstanceOf(DndCpRpcError);
    expect(h.errors[0]?.message).toMatch(/copypaste.transport failed: busy/);
  });

  it('disable(): inactive, packets not taken', async () => {
    const h = await enabled();
    h.guest.disable();
    expect(h.guest.active).toBe(false);
    await h.requestClipboard(1);
    expect(h.messages()).toHaveLength(0);
  });
});

describe('guest → host (REQUEST_CLIPBOARD)', () => {
  it('the golden answer: "hi" for session 7, isActive 0 — a 134-byte RPCI', async () => {
    const h = await enabled();
    h.guest.setGuestClipboard(text('hi'));
    await h.requestClipboard(7, 0);
    const rpci = h.rpci.at(-1) as Buffer;
    expect(rpci).toHaveLength(134);
    expect(rpci.equals(Buffer.concat([CP_WORD, SEND_CLIPBOARD_7_HEADER, HI_CLIPBOARD]))).toBe(true);
  });

  it('echoes the session id and isActive (as "equals 1"), sends the copy once, then "not changed"', async () => {
    const h = await enabled();
    const sent: [CpClipboard, number][] = [];
    h.guest.on('sent', (c, sid) => sent.push([c, sid]));
    h.guest.setGuestClipboard(text('foo'));
    await h.requestClipboard(9, 1);
    await h.requestClipboard(10, 1);
    await h.requestClipboard(11, 5);
    const [a, b, c] = h.messages();
    expect(a).toMatchObject({ cmd: Cmd.CP_SEND_CLIPBOARD, sessionId: 9, params: [4, 0, 0, 1, 0, 0] });
    expect(decodeClipboard(a?.binary as Buffer)).toEqual(text('foo'));
    expect(b).toMatchObject({ cmd: Cmd.CP_SEND_CLIPBOARD, sessionId: 10, params: [4, 0, 0, 1, 0, 0] });
    expect(b?.binary.equals(NOT_CHANGED_CLIPBOARD)).toBe(true);
    expect(c?.params).toEqual([4, 0, 0, 0, 0, 0]);
    expect(sent.map(([cl, sid]) => [cl.changed, sid])).toEqual([
      [true, 9],
      [false, 10],
      [false, 11],
    ]);
    expect(h.guest.stats).toMatchObject({ requests: 3, sent: 1, notChanged: 2 });
  });

  it('answers "not changed" when the guest never copied, and when the host pushed after the copy', async () => {
    const h = await enabled();
    await h.requestClipboard(1);
    h.guest.setGuestClipboard(text('mine'));
    await h.send({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 2, binary: encodeClipboard(text('theirs')) });
    await h.requestClipboard(3);
    for (const m of h.messages()) expect(m.binary.equals(NOT_CHANGED_CLIPBOARD)).toBe(true);
    // A new copy after the push is sent.
    h.guest.setGuestClipboard(text('again'));
    await h.requestClipboard(4);
    expect(decodeClipboard(h.messages().at(-1)?.binary as Buffer)).toEqual(text('again'));
  });

  it('pendingGuestClipboard: the copy until the host takes it or pushes a newer one', async () => {
    const h = await enabled();
    expect(h.guest.pendingGuestClipboard()).toBeUndefined();
    h.guest.setGuestClipboard(text('one'));
    expect(h.guest.pendingGuestClipboard()).toEqual(text('one'));
    await h.requestClipboard(1);
    expect(h.guest.pendingGuestClipboard()).toBeUndefined();
    h.guest.setGuestClipboard(text('two'));
    await h.send({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 2, binary: encodeClipboard(text('host')) });
    expect(h.guest.pendingGuestClipboard()).toBeUndefined();
    h.guest.setGuestClipboard(text('three'));
    const copy = h.guest.pendingGuestClipboard();
    copy?.items.clear();
    expect(h.guest.pendingGuestClipboard()).toEqual(text('three'));
  });

  it('an empty copy is sent as an empty clipboard with changed = 1', async () => {
    const h = await enabled();
    h.guest.setGuestClipboard({ items: new Map(), changed: false });
    await h.requestClipboard(1);
    expect(decodeClipboard(h.messages()[0]?.binary as Buffer)).toEqual({ items: new Map(), changed: true });
  });

  it('200 KiB goes out in slices, each after the host’s REQUEST_NEXT', async () => {
    const h = await enabled();
    const big = Buffer.from(
      patterned(200 * 1024)
        .toString('base64')
        .slice(0, 200 * 1024),
    );
    h.guest.setGuestClipboard(text(big));
    await h.requestClipboard(12);
    const [m] = h.messages();
    expect(
      decodeClipboard(m?.binary as Buffer)
        .items.get(1)
        ?.equals(textItem(big)),
    ).toBe(true);
    expect(m?.sessionId).toBe(12);
    expect(h.endpoint.stats.requestNextOut).toBe(Math.ceil((55 + 200 * 1024 + 1) / DNDCP_PAYLOAD_MAX) - 1);
    expect(h.guest.stats.requestNextIn).toBe(h.endpoint.stats.requestNextOut);
  });

  it('a big copy whose slices the host never fetched (reset mid-transfer) is sent again, not "not changed"', async () => {
    const h = await enabled();
    const big = Buffer.from(
      patterned(150 * 1024)
        .toString('base64')
        .slice(0, 150 * 1024),
    );
    h.guest.setGuestClipboard(text(big));
    // The host asks, the guest sends the first slice; the host resets before any REQUEST_NEXT.
    await h.guest.handleTransport(
      encodePacket(
        {
          cmd: Cmd.CP_REQUEST_CLIPBOARD,
          type: 1,
          src: 2,
          sessionId: 1,
          status: 0,
          params: [4, 0, 0, 0, 0, 0],
          binarySize: 0,
          payloadOffset: 0,
        },
        Buffer.alloc(0),
      ),
    );
    expect(h.results.at(-1)).toMatchObject({ kind: 'partial', sessionId: 1 });
    h.guest.disable();
    h.endpoint.reset();
    expect(await h.guest.enable()).toBe(4);
    await h.requestClipboard(2);
    const m = h.messages().at(-1);
    expect(m?.sessionId).toBe(2);
    expect(
      decodeClipboard(m?.binary as Buffer)
        .items.get(CpFormat.TEXT)
        ?.equals(textItem(big)),
    ).toBe(true);
  });

  it('a failed SEND_CLIPBOARD is an error event; the copy stays unsent and goes with the next request', async () => {
    const h = await enabled();
    h.guest.setGuestClipboard(text('retry'));
    h.failTransport = 1;
    await h.requestClipboard(1);
    expect(h.errors[0]).toBeInstanceOf(DndCpRpcError);
    expect(h.messages()).toHaveLength(0);
    await h.requestClipboard(2);
    expect(decodeClipboard(h.messages()[0]?.binary as Buffer)).toEqual(text('retry'));
  });

  it('setGuestClipboard refuses what the host would refuse, and keeps the previous copy', async () => {
    const h = await enabled();
    h.guest.setGuestClipboard(text('kept'));
    expect(() =>
      h.guest.setGuestClipboard({ items: new Map([[6, Buffer.alloc(CP_ITEM_MAX)]]), changed: true }),
    ).toThrow(DndCpLimitError);
    expect(() =>
      h.guest.setGuestClipboard({
        items: new Map<CpFormatId, Buffer>([
          [1, Buffer.alloc(CP_ITEM_MAX / 2 + 1, 0x61)],
          [3, Buffer.alloc(CP_ITEM_MAX / 2)],
        ]),
        changed: true,
      }),
    ).toThrow(/over the host's limit of 4194190 bytes/);
    // A format the protocol has no number for could never be sent: refused now, not at the request.
    expect(() =>
      h.guest.setGuestClipboard({
        items: new Map([[11 as CpFormatId, Buffer.from('x')]]),
        changed: true,
      }),
    ).toThrow(/not a clipboard format/);
    expect(h.guest.current()).toEqual({ clipboard: text('kept'), from: 'guest' });
  });

  it('the largest clipboard the host takes goes through whole', async () => {
    const h = await enabled();
    const c = { items: new Map([[6 as CpFormatId, patterned(CP_ITEM_MAX - 1, 9)]]), changed: true };
    h.guest.setGuestClipboard(c);
    await h.requestClipboard(3);
    // Buffers compared with equals(): a deep toEqual of 4 MiB takes seconds.
    const got = decodeClipboard(h.messages()[0]?.binary as Buffer);
    expect([...got.items.keys()]).toEqual([6]);
    expect(got.items.get(6)?.equals(c.items.get(6) as Buffer)).toBe(true);
  });
});

describe('host → guest (RECV_CLIPBOARD)', () => {
  it('takes the host clipboard: an event with the session id, current() from the host', async () => {
    const h = await enabled();
    const got: [CpClipboard, number][] = [];
    h.guest.on('host-clipboard', (c, sid) => got.push([c, sid]));
    h.guest.setGuestClipboard(text('old'));
    await h.send({
      cmd: Cmd.CP_RECV_CLIPBOARD,
      sessionId: 21,
      params: [0, 0, 0, 1],
      binary: encodeClipboard(text('hello')),
    });
    expect(got).toEqual([[text('hello'), 21]]);
    expect(h.guest.current()).toEqual({ clipboard: text('hello'), from: 'host' });
    expect(h.guest.stats.received).toBe(1);
    // The guest's next copy is newer.
    h.guest.setGuestClipboard(text('new'));
    expect(h.guest.current()?.from).toBe('guest');
  });

  it('200 KiB arrives in slices: a REQUEST_NEXT {2002, N, received} after each but the last', async () => {
    const h = await enabled();
    const got: CpClipboard[] = [];
    h.guest.on('host-clipboard', (c) => got.push(c));
    const big = Buffer.alloc(200 * 1024, 0x78);
    const bin = encodeClipboard(text(big));
    await h.send({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 5, binary: bin });
    expect(got).toHaveLength(1);
    expect(got[0]?.items.get(1)?.equals(textItem(big))).toBe(true);
    const asks = h.rpci
      .slice(2)
      .map((r) => decodePacket(decodeTransport(r)?.packet as Buffer).header)
      .filter((x) => x.cmd === Cmd.REQUEST_NEXT);
    expect(asks).toHaveLength(Math.ceil(bin.length / DNDCP_PAYLOAD_MAX) - 1);
    asks.forEach((a, i) => {
      expect(a.sessionId).toBe(5);
      expect(a.params.slice(0, 3)).toEqual([Cmd.CP_RECV_CLIPBOARD, bin.length, DNDCP_PAYLOAD_MAX * (i + 1)]);
    });
  });

  it('an empty or undecodable clipboard is an error event and changes nothing', async () => {
    const h = await enabled();
    await h.send({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 1, binary: encodeClipboard(text('good')) });
    const bad = encodeClipboard(text('x'));
    bad[9] = 0xff; // 'x' → an invalid UTF-8 byte
    for (const binary of [Buffer.alloc(0), bad, Buffer.from([1, 2])])
      await h.send({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 2, binary });
    expect(h.errors).toHaveLength(3);
    for (const e of h.errors) expect(e).toBeInstanceOf(DndCpDecodeError);
    expect(h.errors.map((e) => (e as DndCpDecodeError).field)).toEqual([
      'binary',
      'clipboard.TEXT',
      'clipboard.maxFmt',
    ]);
    expect(h.guest.current()).toEqual({ clipboard: text('good'), from: 'host' });
    expect(h.guest.stats).toMatchObject({ received: 1, errors: 3 });
  });

  it('a bad packet is answered with REPLY INVALID_PACKET and an error event', async () => {
    const h = await enabled();
    await h.guest.handleTransport(Buffer.alloc(20));
    expect(h.errors[0]).toBeInstanceOf(DndCpDecodeError);
    const reply = h.messages().at(-1);
    expect(reply).toMatchObject({
      cmd: Cmd.REPLY,
      sessionId: 0,
      status: Status.INVALID_PACKET,
      params: [0, 0, 0, 0, 0, 0],
    });
  });

  it('a REPLY with a failure status from the host is an error event; anything unknown is ignored', async () => {
    const h = await enabled();
    await h.send({ cmd: Cmd.REPLY, sessionId: 0, status: Status.INVALID_PACKET });
    expect(h.errors[0]?.message).toMatch(/INVALID_PACKET/);
    await h.send({ cmd: Cmd.CP_GET_FILES_DONE, sessionId: 3 });
    await h.send({ cmd: Cmd.PING, sessionId: 0 });
    expect(h.guest.stats.ignored).toBe(2);
    expect(h.errors).toHaveLength(1);
  });

  it('an empty TCLO argument throws "invalid arg size"', async () => {
    const h = await enabled();
    await expect(h.guest.handleTransport(Buffer.alloc(0))).rejects.toThrow('invalid arg size');
  });

  it('a throwing listener becomes an error event, not a rejection', async () => {
    const h = await enabled();
    h.guest.on('host-clipboard', () => {
      throw new Error('listener broke');
    });
    await h.send({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 1, binary: encodeClipboard(text('x')) });
    expect(h.errors[0]?.message).toBe('listener broke');
  });

  it('without an error listener, errors are counted and nothing throws', async () => {
    const g = new CopyPasteGuest({ rpc: { send: async () => ({ ok: true, reply: Buffer.from('4') }) } });
    await g.enable();
    await g.handleTransport(Buffer.alloc(3));
    expect(g.stats.errors).toBe(1);
  });
});
