// Round trips: packets, clipboards, file lists, and whole messages through two endpoints wired
// back to back (docs/protocol/dndcp.md §3, §4, §5).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Cmd,
  DNDCP_BINARY_MAX,
  DNDCP_PAYLOAD_MAX,
  decodeClipboard,
  decodeFileList,
  decodePacket,
  decodeTransport,
  encodeClipboard,
  encodeFileList,
  encodePacket,
  encodeTransport,
  readHeader,
} from '../src/index.js';
import { clipboard, header, link, patterned, u32 } from './helpers.js';

describe('round trips', () => {
  it('encodePacket → readHeader gives back every field; decodePacket agrees when the header is valid', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 200 }), (h, payload) => {
        const p = encodePacket(h, payload);
        expect(readHeader(p)).toEqual({ ...h, payloadSize: payload.length });
        const valid = h.binarySize <= DNDCP_BINARY_MAX && h.payloadOffset + payload.length <= h.binarySize;
        if (valid)
          expect(decodePacket(p)).toEqual({
            header: { ...h, payloadSize: payload.length },
            payload: Buffer.from(payload),
          });
        else expect(() => decodePacket(p)).toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it('valid packets decode to what was encoded', () => {
    const valid = fc
      .record({
        h: header,
        payload: fc.uint8Array({ maxLength: 300 }),
        extra: fc.nat({ max: DNDCP_BINARY_MAX }),
      })
      .map(({ h, payload, extra }) => {
        const binarySize = Math.min(DNDCP_BINARY_MAX, payload.length + extra);
        const payloadOffset = h.payloadOffset % (binarySize - payload.length + 1);
        return { h: { ...h, binarySize, payloadOffset }, payload };
      });
    fc.assert(
      fc.property(valid, ({ h, payload }) => {
        const d = decodePacket(encodePacket(h, payload));
        expect(d.header).toEqual({ ...h, payloadSize: payload.length });
        expect(d.payload.equals(Buffer.from(payload))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('the transport framing', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('cp' as const, 'dnd' as const),
        fc.uint8Array({ maxLength: 100 }),
        (channel, packet) => {
          expect(decodeTransport(encodeTransport(channel, packet))).toEqual({
            channel,
            packet: Buffer.from(packet),
          });
        },
      ),
      { numRuns: 300 },
    );
    expect(decodeTransport(Buffer.from('copypaste.transport'))).toBeUndefined();
    expect(decodeTransport(Buffer.from('dnd.transport '))).toEqual({
      channel: 'dnd',
      packet: Buffer.alloc(0),
    });
  });

  it('clipboards with random items', () => {
    fc.assert(
      fc.property(clipboard, (c) => {
        const b = encodeClipboard(c);
        expect(b.length).toBe(55 + [...c.items.values()].reduce((n, x) => n + x.length, 0));
        expect(decodeClipboard(b)).toEqual(c);
      }),
      { numRuns: 1000 },
    );
  });

  it('file lists', () => {
    const name = fc.string({ minLength: 0, maxLength: 20 }).filter((s) => !s.includes('\0'));
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.array(name, { maxLength: 6 }),
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
        (totalSize, relNames, paths) => {
          // An empty last name is written as a lone NUL, which reads back as no name.
          fc.pre(relNames.at(-1) !== '');
          const l = { totalSize, relNames, fullPaths: paths.map((p) => Buffer.from(p)) };
          expect(decodeFileList(encodeFileList(l))).toEqual(l);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('messages through two endpoints', () => {
  const message = (maxSize: number) =>
    fc.record({
      cmd: u32.filter((c) => c !== Cmd.REQUEST_NEXT),
      sessionId: u32,
      status: u32,
      params: fc.array(u32, { maxLength: 6 }),
      size: fc.oneof(
        fc.nat({ max: 300 }),
        fc.integer({ min: DNDCP_PAYLOAD_MAX - 3, max: DNDCP_PAYLOAD_MAX + 3 }),
        fc.integer({ min: 2 * DNDCP_PAYLOAD_MAX - 2, max: 2 * DNDCP_PAYLOAD_MAX + 2 }),
        fc.integer({ min: 0, max: maxSize }),
        fc.integer({ min: maxSize - 3, max: maxSize }),
      ),
      seed: u32,
      toHost: fc.boolean(),
    });

  it('arrive whole, either way, with one REQUEST_NEXT per slice after the first', async () => {
    await fc.assert(
      fc.asyncProperty(message(DNDCP_BINARY_MAX), async (m) => {
        const l = link();
        const binary = patterned(m.size, m.seed);
        const [from, results] = m.toHost ? [l.guest, l.atHost] : [l.host, l.atGuest];
        const to = m.toHost ? l.host : l.guest;
        await from.sendMessage({
          cmd: m.cmd,
          sessionId: m.sessionId,
          status: m.status,
          params: m.params,
          binary,
        });
        await l.pump();
        const slices = Math.max(1, Math.ceil(m.size / DNDCP_PAYLOAD_MAX));
        expect(results.map((r) => r.kind)).toEqual([...Array(slices - 1).fill('partial'), 'message']);
        const last = results.at(-1);
        if (last?.kind !== 'message') throw new Error('no message');
        expect(last.message.binary.equals(binary)).toBe(true);
        expect(last.message).toMatchObject({ cmd: m.cmd, sessionId: m.sessionId, status: m.status });
        expect(last.message.params).toEqual([...m.params, ...Array(6 - m.params.length).fill(0)]);
        expect(to.stats).toMatchObject({
          requestNextOut: slices - 1,
          messagesIn: 1,
          invalid: 0,
          packetsIn: slices,
        });
        expect(from.stats).toMatchObject({ requestNextIn: slices - 1, packetsOut: slices, invalid: 0 });
        expect(from.pending()).toEqual({});
        expect(to.pending()).toEqual({});
      }),
      { numRuns: 40 },
    );
  });

  it('the same under a smaller maxBinary', async () => {
    await fc.assert(
      fc.asyncProperty(message(200_000), async (m) => {
        const l = link(200_000);
        const binary = patterned(m.size, m.seed);
        await l.guest.sendMessage({ cmd: m.cmd, sessionId: m.sessionId, binary });
        await l.pump();
        const last = l.atHost.at(-1);
        expect(last?.kind === 'message' && last.message.binary.equals(binary)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
