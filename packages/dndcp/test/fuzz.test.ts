// Hostile bytes: every decoder returns or throws DndCpDecodeError, returns nothing larger than its
// input, and the endpoint never rejects (its sender does not fail here).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Cmd,
  DNDCP_PAYLOAD_MAX,
  DndCpDecodeError,
  DndCpEndpoint,
  decodeClipboard,
  decodeFileList,
  decodePacket,
  encodeClipboard,
  encodeFileList,
  encodePacket,
} from '../src/index.js';
import { clipboard, header, u8, u32 } from './helpers.js';

const RUNS = { numRuns: 3000 };

/** Sum of the sizes of everything a decoder returned, checked against the input. */
function assertBounded(value: unknown, inputLength: number): void {
  let budget = 0;
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) {
      expect(v.length).toBeLessThanOrEqual(inputLength);
      budget += v.length;
    } else if (typeof v === 'string') budget += v.length;
    else if (v instanceof Map) for (const x of v.values()) walk(x);
    else if (Array.isArray(v)) {
      budget += v.length;
      for (const x of v) walk(x);
    } else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  walk(value);
  expect(budget).toBeLessThanOrEqual(inputLength);
}

function onlyDecodeErrors(f: () => unknown, inputLength: number): void {
  let result: unknown;
  try {
    result = f();
  } catch (e) {
    if (!(e instanceof DndCpDecodeError)) throw e;
    expect(e.field).not.toBe('');
    return;
  }
  assertBounded(result, inputLength);
}

/** A valid encoding, then broken: bytes set, u32s overwritten with telling values, cut, grown. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: u8 }),
  fc.record({
    kind: fc.constant('u32' as const),
    at: fc.nat(),
    value: fc.oneof(
      u32,
      fc.constantFrom(
        0xffffffff,
        0x80000000,
        DNDCP_PAYLOAD_MAX,
        DNDCP_PAYLOAD_MAX + 1,
        4194304,
        0,
        1,
        11,
        12,
      ),
    ),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), value: fc.constant(0) }),
  fc.record({ kind: fc.constant('grow' as const), at: fc.nat({ max: 64 }), value: u8 }),
);
function mutate(bytes: Uint8Array, ms: readonly { kind: string; at: number; value: number }[]): Buffer {
  let p = Buffer.from(bytes);
  for (const m of ms) {
    if (p.length === 0) break;
    const at = m.at % p.length;
    if (m.kind === 'flip') p[at] = m.value;
    else if (m.kind === 'u32' && at + 4 <= p.length) p.writeUInt32LE(m.value, at);
    else if (m.kind === 'cut') p = p.subarray(0, at);
    else if (m.kind === 'grow') p = Buffer.concat([p, Buffer.alloc(m.at, m.value)]);
  }
  return p;
}

/** Mostly-valid packets: a header with sizes that nearly fit, and a payload. */
const nearPacket = fc
  .record({
    h: header,
    payload: fc.uint8Array({ maxLength: 120 }),
    binarySize: fc.oneof(fc.nat({ max: 200 }), fc.integer({ min: DNDCP_PAYLOAD_MAX - 2, max: 300_000 }), u32),
    payloadOffset: fc.oneof(fc.constant(0), fc.nat({ max: 300_000 }), fc.constant(DNDCP_PAYLOAD_MAX), u32),
    cmd: fc.oneof(fc.constantFrom(Cmd.REQUEST_NEXT, Cmd.CP_RECV_CLIPBOARD, Cmd.PING_REPLY), u32),
    sessionId: fc.oneof(fc.constantFrom(1, 2), u32),
  })
  .map(({ h, payload, binarySize, payloadOffset, cmd, sessionId }) =>
    encodePacket({ ...h, cmd, sessionId, binarySize, payloadOffset }, payload),
  );

describe('fuzz', () => {
  it('decodePacket on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) =>
        onlyDecodeErrors(() => decodePacket(b), b.length),
      ),
      RUNS,
    );
  });

  it('decodePacket on mutated packets', () => {
    fc.assert(
      fc.property(nearPacket, fc.array(mutation, { minLength: 1, maxLength: 4 }), (p, ms) => {
        const b = mutate(p, ms);
        onlyDecodeErrors(() => decodePacket(b), b.length);
      }),
      RUNS,
    );
  });

  it('decodeClipboard on random bytes (with a format count that is mostly believable)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.oneof(fc.integer({ min: 0, max: 14 }), u32),
        (body, maxFmt) => {
          const b = Buffer.concat([Buffer.alloc(4), body]);
          b.writeUInt32LE(maxFmt, 0);
          onlyDecodeErrors(() => decodeClipboard(b), b.length);
          onlyDecodeErrors(() => decodeClipboard(body), body.length);
        },
      ),
      RUNS,
    );
  });

  it('decodeClipboard on mutated clipboards, with small limits too', () => {
    fc.assert(
      fc.property(
        clipboard,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.oneof(fc.constant(undefined), fc.nat({ max: 400 })),
        (c, ms, max) => {
          const b = mutate(encodeClipboard(c), ms);
          onlyDecodeErrors(() => decodeClipboard(b, max), b.length);
        },
      ),
      RUNS,
    );
  });

  it('decodeFileList on random and mutated bytes', () => {
    const list = fc.record({
      totalSize: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      relNames: fc.array(
        fc.string({ maxLength: 10 }).filter((s) => !s.includes('\0')),
        { maxLength: 4 },
      ),
      fullPaths: fc.array(
        fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
        { maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
          fc
            .tuple(list, fc.array(mutation, { minLength: 1, maxLength: 4 }))
            .map(([l, ms]) => mutate(encodeFileList(l), ms)),
        ),
        (b) => {
          // totalSize is a number read from 8 bytes, not data taken from the input.
          onlyDecodeErrors(() => ({ ...decodeFileList(b), totalSize: undefined }), b.length);
        },
      ),
      RUNS,
    );
  });

  it('endpoint.receive on sequences of random, mutated and near-valid packets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)),
            nearPacket,
            fc
              .tuple(nearPacket, fc.array(mutation, { minLength: 1, maxLength: 3 }))
              .map(([p, ms]) => mutate(p, ms)),
          ),
          { minLength: 1, maxLength: 8 },
        ),
        fc.constantFrom('guest' as const, 'host' as const),
        fc.boolean(),
        async (packets, role, sending) => {
          const sent: Buffer[] = [];
          const ep = new DndCpEndpoint({
            role,
            channel: 'cp',
            send: (p) => void sent.push(p),
            maxBinary: 300_000,
          });
          if (sending)
            await ep.sendMessage({ cmd: Cmd.CP_SEND_CLIPBOARD, sessionId: 1, binary: Buffer.alloc(150_000) });
          let fed = 0;
          for (const p of packets) {
            fed += p.length;
            const r = await ep.receive(p);
            if (r.kind === 'message') {
              // A message is made of payload bytes received, never more.
              expect(r.message.binary.length).toBeLessThanOrEqual(fed);
              expect(r.message.cmd).not.toBe(Cmd.REQUEST_NEXT);
            }
            if (r.kind === 'invalid') expect(r.error).toBeInstanceOf(DndCpDecodeError);
            if (r.kind === 'partial') expect(r.received).toBeLessThan(r.total);
          }
          // Everything it sent is a valid packet.
          for (const p of sent) decodePacket(p);
          expect(ep.stats.packetsIn).toBe(packets.length);
        },
      ),
      RUNS,
    );
  });
});
