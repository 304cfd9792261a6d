// DndCpEndpoint's rules (docs/protocol/dndcp.md §4): validation, slices, REQUEST_NEXT both ways,
// the answer to a bad packet, limits.
import { describe, expect, it } from 'vitest';
import {
  Cmd,
  DNDCP_BINARY_MAX,
  DNDCP_PACKET_MAX,
  DNDCP_PAYLOAD_MAX,
  DndCpDecodeError,
  DndCpEndpoint,
  DndCpLimitError,
  decodePacket,
  type ReceiveResult,
  Status,
} from '../src/index.js';
import { link, patterned, rawPacket, recording } from './helpers.js';

/** The answer vmtoolsd gives a bad packet: REPLY, p1 = 0 (INVALID), status INVALID_PACKET, session 0. */
function expectInvalidReply(p: Buffer | undefined, type = 3, src = 2): void {
  expect(p).toBeDefined();
  const { header, payload } = decodePacket(p as Buffer);
  expect(header).toMatchObject({
    cmd: Cmd.REPLY,
    type,
    src,
    sessionId: 0,
    status: Status.INVALID_PACKET,
    binarySize: 0,
  });
  expect(header.params).toEqual([0, 0, 0, 0, 0, 0]);
  expect(payload).toHaveLength(0);
}

function expectInvalid(r: ReceiveResult, field: string): void {
  expect(r.kind).toBe('invalid');
  if (r.kind === 'invalid') {
    expect(r.error).toBeInstanceOf(DndCpDecodeError);
    expect(r.error.field).toBe(field);
  }
}

/** The first two slices of a big message of session `sid`, as a host sends them. */
function slices(binary: Buffer, sessionId: number, cmd = Cmd.CP_RECV_CLIPBOARD): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < binary.length; off += DNDCP_PAYLOAD_MAX)
    out.push(
      rawPacket(
        { cmd, sessionId, binarySize: binary.length, payloadOffset: off },
        binary.subarray(off, Math.min(binary.length, off + DNDCP_PAYLOAD_MAX)),
      ),
    );
  return out;
}

describe('bad packets are answered as vmtoolsd does and change nothing', () => {
  const cases: [string, Buffer, string][] = [
    ['truncated (55 bytes)', Buffer.alloc(55), 'packetSize'],
    ['empty', Buffer.alloc(0), 'packetSize'],
    [
      'over 65436 bytes',
      Buffer.concat([
        rawPacket({ payloadSize: DNDCP_PACKET_MAX - 55, binarySize: 70_000 }),
        Buffer.alloc(DNDCP_PACKET_MAX - 55),
      ]),
      'packetSize',
    ],
    [
      'payloadSize over 65380',
      rawPacket({ payloadSize: DNDCP_PAYLOAD_MAX + 1, binarySize: 70000 }),
      'payloadSize',
    ],
    [
      'payloadSize ≠ bytes after the header',
      rawPacket({ payloadSize: 9, binarySize: 10 }, Buffer.alloc(10)),
      'payloadSize',
    ],
    [
      'binarySize over 4 MiB',
      rawPacket({ binarySize: DNDCP_BINARY_MAX + 1 }, Buffer.alloc(10)),
      'binarySize',
    ],
    [
      'payload past the binary',
      rawPacket({ binarySize: 100_000, payloadOffset: 99_995 }, Buffer.alloc(10)),
      'payloadOffset',
    ],
    ['payload larger than the binary', rawPacket({ binarySize: 5 }, Buffer.alloc(10)), 'payloadSize'],
    ['offset past the binary', rawPacket({ binarySize: 100_000, payloadOffset: 100_001 }), 'payloadOffset'],
    [
      'single packet with an offset',
      rawPacket({ binarySize: 10, payloadOffset: 5 }, Buffer.alloc(5)),
      'payloadOffset',
    ],
    [
      'single packet without all of its binary',
      rawPacket({ binarySize: 10 }, Buffer.alloc(4)),
      'payloadSize',
    ],
    [
      'a middle slice of no message',
      rawPacket({ binarySize: 200_000, payloadOffset: 65_380 }, Buffer.alloc(100)),
      'payloadOffset',
    ],
  ];
  for (const [name, packet, field] of cases)
    it(name, async () => {
      const { ep, sent } = recording();
      const r = await ep.receive(packet);
      expectInvalid(r, field);
      expect(sent).toHaveLength(1);
      expectInvalidReply(sent[0]);
      expect(ep.stats).toMatchObject({ invalid: 1, packetsIn: 1, packetsOut: 1, messagesIn: 0 });
    });

  it('a host endpoint answers with its own type and src', async () => {
    const { ep, sent } = recording({ role: 'host', channel: 'dnd' });
    await ep.receive(Buffer.alloc(3));
    expectInvalidReply(sent[0], 1, 1);
  });

  it('the limits themselves are valid: a 65436-byte packet, a 65380-byte single binary, a 4 MiB first slice', async () => {
    const { ep, sent } = recording();
    const one = patterned(DNDCP_PAYLOAD_MAX);
    const r = await ep.receive(rawPacket({ binarySize: one.length }, one));
    expect(r.kind).toBe('message');
    if (r.kind === 'message') expect(r.message.binary.equals(one)).toBe(true);
    const first = await ep.receive(
      rawPacket({ binarySize: DNDCP_BINARY_MAX }, Buffer.alloc(DNDCP_PAYLOAD_MAX)),
    );
    expect(first).toMatchObject({ kind: 'partial', received: DNDCP_PAYLOAD_MAX, total: DNDCP_BINARY_MAX });
    expect(sent).toHaveLength(1); // the REQUEST_NEXT
  });
});

describe('receiving a big message', () => {
  it('asks for each next slice with REQUEST_NEXT {p1 cmd, p2 size, p3 received} in the same session', async () => {
    const { ep, sent } = recording();
    const bin = patterned(200_000, 3);
    const packets = slices(bin, 42);
    expect(packets).toHaveLength(4);
    const results: ReceiveResult[] = [];
    for (const p of packets) results.push(await ep.receive(p));
    expect(results.slice(0, 3).map((r) => r.kind)).toEqual(['partial', 'partial', 'partial']);
    expect(results[1]).toEqual({
      kind: 'partial',
      cmd: Cmd.CP_RECV_CLIPBOARD,
      sessionId: 42,
      received: 130_760,
      total: 200_000,
    });
    const last = results[3];
    expect(last?.kind).toBe('message');
    if (last?.kind === 'message') {
      expect(last.message.binary.equals(bin)).toBe(true);
      expect(last.message).toMatchObject({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 42 });
    }
    expect(sent).toHaveLength(3);
    sent.forEach((p, i) => {
      const { header } = decodePacket(p);
      expect(header).toMatchObject({
        cmd: Cmd.REQUEST_NEXT,
        type: 3,
        src: 2,
        sessionId: 42,
        binarySize: 0,
        payloadSize: 0,
      });
      expect(header.params).toEqual([Cmd.CP_RECV_CLIPBOARD, 200_000, DNDCP_PAYLOAD_MAX * (i + 1), 0, 0, 0]);
    });
    expect(ep.stats).toMatchObject({ requestNextOut: 3, messagesIn: 1, invalid: 0 });
    expect(ep.pending()).toEqual({});
  });

  it('an out-of-order slice is invalid and the message still completes with the right one', async () => {
    const { ep, sent } = recording();
    const bin = patterned(200_000);
    const [a, b, c, d] = slices(bin, 5);
    await ep.receive(a as Buffer);
    expectInvalid(await ep.receive(c as Buffer), 'payloadOffset');
    expectInvalidReply(sent.at(-1));
    expectInvalid(await ep.receive(a as Buffer), 'payloadOffset'); // a repeated first slice, same session
    expect(ep.pending().in).toMatchObject({ sessionId: 5, received: DNDCP_PAYLOAD_MAX });
    await ep.receive(b as Buffer);
    await ep.receive(c as Buffer);
    const r = await ep.receive(d as Buffer);
    expect(r.kind === 'message' && r.message.binary.equals(bin)).toBe(true);
  });

  it('a slice that changes binarySize is invalid', async () => {
    const { ep } = recording();
    const bin = patterned(200_000);
    await ep.receive(slices(bin, 5)[0] as Buffer);
    const other = rawPacket(
      { sessionId: 5, binarySize: 200_001, payloadOffset: DNDCP_PAYLOAD_MAX },
      Buffer.alloc(10),
    );
    expectInvalid(await ep.receive(other), 'binarySize');
    expect(ep.pending().in?.total).toBe(200_000);
  });

  it('a middle slice of another session is invalid and leaves the message being received', async () => {
    const { ep, sent } = recording();
    const bin = patterned(200_000);
    const s = slices(bin, 5);
    await ep.receive(s[0] as Buffer);
    const wrong = slices(bin, 6)[1] as Buffer;
    expectInvalid(await ep.receive(wrong), 'payloadOffset');
    expectInvalidReply(sent.at(-1));
    for (const p of s.slice(1, 3)) await ep.receive(p);
    const r = await ep.receive(s[3] as Buffer);
    expect(r.kind === 'message' && r.message.binary.equals(bin)).toBe(true);
  });

  it('a first slice of another session discards the partial message and starts the new one', async () => {
    const { ep } = recording();
    const old = slices(patterned(200_000, 1), 5);
    const fresh = slices(patterned(150_000, 2), 6);
    await ep.receive(old[0] as Buffer);
    await ep.receive(old[1] as Buffer);
    expect(await ep.receive(fresh[0] as Buffer)).toMatchObject({
      kind: 'partial',
      sessionId: 6,
      received: DNDCP_PAYLOAD_MAX,
    });
    expectInvalid(await ep.receive(old[2] as Buffer), 'payloadOffset');
    await ep.receive(fresh[1] as Buffer);
    const r = await ep.receive(fresh[2] as Buffer);
    expect(
      r.kind === 'message' && r.message.sessionId === 6 && r.message.binary.equals(patterned(150_000, 2)),
    ).toBe(true);
  });

  it('a single-packet message in the middle is delivered and the big one goes on', async () => {
    const { ep } = recording();
    const bin = patterned(140_000);
    const s = slices(bin, 5);
    await ep.receive(s[0] as Buffer);
    const r = await ep.receive(rawPacket({ cmd: Cmd.CP_REQUEST_CLIPBOARD, sessionId: 5 }));
    expect(r).toMatchObject({ kind: 'message', message: { cmd: Cmd.CP_REQUEST_CLIPBOARD } });
    await ep.receive(s[1] as Buffer);
    const done = await ep.receive(s[2] as Buffer);
    expect(done.kind === 'message' && done.message.binary.equals(bin)).toBe(true);
  });

  it('when the REQUEST_NEXT cannot be sent, receive rejects and the partial message is dropped', async () => {
    const ep = new DndCpEndpoint({
      role: 'guest',
      channel: 'cp',
      send: () => {
        throw new Error('rpc down');
      },
    });
    await expect(ep.receive(slices(patterned(200_000), 5)[0] as Buffer)).rejects.toThrow('rpc down');
    expect(ep.pending()).toEqual({});
  });
});

describe('sending a big message', () => {
  it('sends 65380 bytes in one packet and 65381 in two, the second after REQUEST_NEXT', async () => {
    for (const [size, packets] of [
      [DNDCP_PAYLOAD_MAX, 1],
      [DNDCP_PAYLOAD_MAX + 1, 2],
    ] as const) {
      const l = link();
      const bin = patterned(size);
      await l.guest.sendMessage({ cmd: Cmd.CP_SEND_CLIPBOARD, sessionId: 9, binary: bin });
      await l.pump();
      expect(l.guest.stats.packetsOut).toBe(packets);
      expect(l.host.stats.requestNextOut).toBe(packets - 1);
      const r = l.atHost.at(-1);
      expect(r?.kind === 'message' && r.message.binary.equals(bin)).toBe(true);
    }
  });

  it('works with a peer whose REQUEST_NEXT arrives before send() resolves (delivery inside send)', async () => {
    const atHost: ReceiveResult[] = [];
    const atGuest: ReceiveResult[] = [];
    const guest: DndCpEndpoint = new DndCpEndpoint({
      role: 'guest',
      channel: 'cp',
      send: (p) => {
        void host.receive(p).then((r) => atHost.push(r));
      },
    });
    const host: DndCpEndpoint = new DndCpEndpoint({
      role: 'host',
      channel: 'cp',
      send: (p) => {
        void guest.receive(p).then((r) => atGuest.push(r));
      },
    });
    const bin = patterned(200_000, 4);
    await guest.sendMessage({ cmd: Cmd.CP_SEND_CLIPBOARD, sessionId: 8, binary: bin });
    for (let i = 0; i < 20 && (atHost.length < 4 || atGuest.length < 3); i++)
      await new Promise((r) => setImmediate(r));
    // Results land in the order the nested calls finish: count them.
    expect(atHost.map((r) => r.kind).sort()).toEqual(['message', 'partial', 'partial', 'partial']);
    const msg = atHost.find((r) => r.kind === 'message');
    expect(msg?.kind === 'message' && msg.message.binary.equals(bin)).toBe(true);
    expect(atGuest.map((r) => r.kind)).toEqual(['internal', 'internal', 'internal']);
    expect(host.stats.invalid + guest.stats.invalid).toBe(0);
  });

  it('serves REQUEST_NEXT whatever its params say, slice after slice, then forgets the message', async () => {
    const { ep, sent } = recording({ role: 'host' });
    const bin = patterned(140_000);
    await ep.sendMessage({ cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 3, params: [1, 2], binary: bin });
    const ask = rawPacket({ cmd: Cmd.REQUEST_NEXT, sessionId: 3, params: [0, 0, 0, 0, 0, 0] });
    expect(await ep.receive(ask)).toEqual({ kind: 'internal' });
    expect(await ep.receive(ask)).toEqual({ kind: 'internal' });
    expect(sent).toHaveLength(3);
    const got = sent.map((p) => decodePacket(p));
    expect(got.map((g) => [g.header.payloadOffset, g.header.payloadSize])).toEqual([
      [0, 65_380],
      [65_380, 65_380],
      [130_760, 9_240],
    ]);
    for (const g of got)
      expect(g.header).toMatchObject({
        cmd: Cmd.CP_RECV_CLIPBOARD,
        sessionId: 3,
        binarySize: 140_000,
        type: 1,
        src: 2,
      });
    expect(got[2]?.header.params).toEqual([1, 2, 0, 0, 0, 0]);
    expect(Buffer.concat(got.map((g) => g.payload)).equals(bin)).toBe(true);
    // Everything was sent: one more REQUEST_NEXT has nothing to serve, and nothing is sent.
    expectInvalid(await ep.receive(ask), 'cmd');
    expect(sent).toHaveLength(3);
    expect(ep.stats).toMatchObject({ requestNextIn: 3, invalid: 1, messagesIn: 0 });
  });

  it('REQUEST_NEXT when nothing was ever sent is invalid, and nothing is sent', async () => {
    const { ep, sent } = recording();
    expectInvalid(await ep.receive(rawPacket({ cmd: Cmd.REQUEST_NEXT, sessionId: 1 })), 'cmd');
    expect(sent).toHaveLength(0);
  });

  it('REQUEST_NEXT of another session is invalid, and nothing is sent', async () => {
    const { ep, sent } = recording();
    await ep.sendMessage({ cmd: Cmd.CP_SEND_CLIPBOARD, sessionId: 3, binary: patterned(70_000) });
    expectInvalid(await ep.receive(rawPacket({ cmd: Cmd.REQUEST_NEXT, sessionId: 4 })), 'sessionId');
    expect(sent).toHaveLength(1);
    expect(await ep.receive(rawPacket({ cmd: Cmd.REQUEST_NEXT, sessionId: 3 }))).toEqual({
      kind: 'internal',
    });
  });

  it('a new big message replaces the unfinished one', async () => {
    const l = link();
    await l.guest.sendMessage({ cmd: Cmd.CP_SEND_CLIPBOARD, sessionId: 1, binary: patterned(100_000, 1) });
    await l.guest.sendMessage({ cmd: Cmd.CP_SEND_CLIPBOARD, sessionId: 2, binary: patterned(100_000, 2) });
    await l.pump();
    const msgs = l.atHost.filter((r) => r.kind === 'message');
    expect(msgs).toHaveLength(1);
    expect(msgs[0]?.kind === 'message' && msgs[0].message.binary.equals(patterned(100_000, 2))).toBe(true);
  });

  it('a failed first send drops the big message: a later REQUEST_NEXT is invalid', async () => {
    let fail = true;
    const sent: Buffer[] = [];
    const ep = new DndCpEndpoint({
      role: 'guest',
      channel: 'cp',
      send: (p) => {
        if (fail) throw new Error('rpc down');
        sent.push(p);
      },
    });
    await expect(ep.sendMessage({ cmd: 2003, sessionId: 1, binary: patterned(100_000) })).rejects.toThrow(
      'rpc down',
    );
    fail = false;
    expectInvalid(await ep.receive(rawPacket({ cmd: Cmd.REQUEST_NEXT, sessionId: 1 })), 'cmd');
    expect(ep.stats.messagesOut).toBe(0);
  });

  it('params: missing ones are 0, more than 6 is refused', async () => {
    const { ep, sent } = recording();
    await ep.sendMessage({ cmd: 1, sessionId: 0, params: [4] });
    expect(decodePacket(sent[0] as Buffer).header.params).toEqual([4, 0, 0, 0, 0, 0]);
    await expect(ep.sendMessage({ cmd: 1, sessionId: 0, params: [1, 2, 3, 4, 5, 6, 7] })).rejects.toThrow(
      /params/,
    );
  });
});

describe('maxBinary', () => {
  it('a binary over the limit is refused on send with DndCpLimitError, and nothing is sent', async () => {
    const { ep, sent } = recording({ maxBinary: 100_000 });
    const err = await ep
      .sendMessage({ cmd: 2003, sessionId: 1, binary: Buffer.alloc(100_001) })
      .catch((e) => e);
    expect(err).toBeInstanceOf(DndCpLimitError);
    expect(err).toMatchObject({ limit: 100_000, size: 100_001 });
    expect(err.message).toMatch(/over the host's limit of 100000 bytes/);
    expect(sent).toHaveLength(0);
    await ep.sendMessage({ cmd: 2003, sessionId: 1, binary: Buffer.alloc(100_000) });
    expect(sent).toHaveLength(1);
  });

  it('4 MiB + 1 is over the default limit', async () => {
    const { ep } = recording();
    await expect(
      ep.sendMessage({ cmd: 2003, sessionId: 1, binary: Buffer.alloc(DNDCP_BINARY_MAX + 1) }),
    ).rejects.toBeInstanceOf(DndCpLimitError);
  });

  it('a message over the limit is invalid on receive, single or big', async () => {
    const { ep, sent } = recording({ maxBinary: 1000 });
    expectInvalid(await ep.receive(rawPacket({ binarySize: 1001 }, Buffer.alloc(1001))), 'binarySize');
    expectInvalid(await ep.receive(rawPacket({ binarySize: 100_000 }, Buffer.alloc(100))), 'binarySize');
    expect(sent).toHaveLength(2);
    for (const p of sent) expectInvalidReply(p);
    expect(ep.pending()).toEqual({});
    expect((await ep.receive(rawPacket({ binarySize: 1000 }, Buffer.alloc(1000)))).kind).toBe('message');
  });

  it('is checked when the endpoint is made', () => {
    expect(
      () =>
        new DndCpEndpoint({ role: 'guest', channel: 'cp', send: () => {}, maxBinary: DNDCP_BINARY_MAX + 1 }),
    ).toThrow(RangeError);
  });
});

it('reset() drops the partial incoming and the outgoing message', async () => {
  const { ep } = recording();
  await ep.sendMessage({ cmd: 2003, sessionId: 1, binary: patterned(70_000) });
  await ep.receive(slices(patterned(70_000), 2)[0] as Buffer);
  expect(ep.pending()).toEqual({
    in: { cmd: Cmd.CP_RECV_CLIPBOARD, sessionId: 2, received: DNDCP_PAYLOAD_MAX, total: 70_000 },
    out: { cmd: 2003, sessionId: 1, sent: DNDCP_PAYLOAD_MAX, total: 70_000 },
  });
  ep.reset();
  expect(ep.pending()).toEqual({});
});
