import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CODEC_OPS,
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  HGFS_FIRST_V4_OP,
  HgfsDecodeError,
  type HgfsReply,
  type HgfsRequest,
} from '../src/index.js';
import * as arb from './arbitraries.js';

// Hostile bytes: each decoder either returns or throws HgfsDecodeError, and nothing it returns is
// bigger than the input (every byte array, string and list is bounded by the bytes received).
const RUNS = { numRuns: 3000 };

/** Sum of the sizes of everything a decoder returned, checked against the input. */
function assertBounded(value: unknown, inputLength: number): void {
  let budget = 0;
  const walk = (v: unknown): void => {
    if (v instanceof Uint8Array) {
      expect(v.length).toBeLessThanOrEqual(inputLength);
      budget += v.length;
    } else if (typeof v === 'string') {
      budget += v.length;
    } else if (Array.isArray(v)) {
      budget += v.length;
      for (const x of v) walk(x);
    } else if (v && typeof v === 'object') {
      // 'kind' and 'framing' are labels of the result, not decoded data.
      for (const [k, x] of Object.entries(v)) if (k !== 'kind' && k !== 'framing') walk(x);
    }
  };
  walk(value);
  // A string of n UTF-16 units needs at least n bytes; each list item at least one byte.
  expect(budget).toBeLessThanOrEqual(inputLength * 2);
}

function onlyDecodeErrors(f: () => unknown, inputLength: number): void {
  let result: unknown;
  try {
    result = f();
  } catch (e) {
    if (!(e instanceof HgfsDecodeError)) throw e;
    expect(e.message).toMatch(/at offset \d+/);
    return;
  }
  assertBounded(result, inputLength);
}

function requestPacket(req: HgfsRequest, framing: 'v4' | 'legacy', id: number): Uint8Array {
  return encodeRequest(
    req,
    framing === 'v4' || req.op >= HGFS_FIRST_V4_OP
      ? { framing: 'v4', requestId: id, sessionId: 1n }
      : { framing: 'legacy', requestId: id },
  );
}

function replyPacket(
  reply: HgfsReply,
  framing: 'v4' | 'legacy',
  id: number,
): { bytes: Uint8Array; framing: 'v4' | 'legacy' } {
  const f = framing === 'v4' || reply.op >= HGFS_FIRST_V4_OP ? 'v4' : 'legacy';
  const bytes = encodeReply(
    f === 'v4'
      ? { framing: 'v4', requestId: id, op: reply.op, sessionId: 1n }
      : { framing: 'legacy', requestId: id, op: reply.op },
    reply,
  );
  return { bytes, framing: f };
}

describe('fuzz', () => {
  it('decodeRequest on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) =>
        onlyDecodeErrors(() => decodeRequest(bytes), bytes.length),
      ),
      RUNS,
    );
  });

  it('decodeRequest on random bytes behind a valid V4 header start', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 52, maxLength: 600 }),
        fc.constantFrom(...CODEC_OPS),
        (bytes, op) => {
          const p = Uint8Array.from(bytes);
          const v = new DataView(p.buffer);
          p[0] = 1;
          v.setUint32(4, 0xff, true);
          v.setUint32(8, p.length, true);
          v.setUint32(12, 52, true);
          v.setUint32(20, op, true);
          onlyDecodeErrors(() => decodeRequest(p), p.length);
        },
      ),
      RUNS,
    );
  });

  it('decodeRequest on mutated valid requests', () => {
    fc.assert(
      fc.property(
        arb.request,
        arb.framing,
        fc.array(arb.mutation, { minLength: 1, maxLength: 4 }),
        (req, framing, ms) => {
          const p = arb.mutate(requestPacket(req, framing, 5), ms);
          onlyDecodeErrors(() => decodeRequest(p), p.length);
        },
      ),
      RUNS,
    );
  });

  it('decodeReply on random bytes, for every op and framing', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.constantFrom(...CODEC_OPS),
        arb.framing,
        (bytes, op, framing) =>
          onlyDecodeErrors(() => decodeReply(bytes, { framing, requestId: 0, op }), bytes.length),
      ),
      RUNS,
    );
  });

  it('decodeReply on random bodies behind a matching header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(...CODEC_OPS), (body, op) => {
        const p = new Uint8Array(52 + body.length);
        const v = new DataView(p.buffer);
        p[0] = 1;
        v.setUint32(4, 0xff, true);
        v.setUint32(8, p.length, true);
        v.setUint32(12, 52, true);
        v.setUint32(20, op, true);
        v.setUint32(28, 2, true);
        p.set(body, 52);
        onlyDecodeErrors(() => decodeReply(p, { framing: 'v4', requestId: 0, op }), p.length);
      }),
      RUNS,
    );
  });

  it('decodeReply on mutated valid replies', () => {
    fc.assert(
      fc.property(
        arb.reply,
        arb.framing,
        fc.array(arb.mutation, { minLength: 1, maxLength: 4 }),
        (reply, framing, ms) => {
          const { bytes, framing: f } = replyPacket(reply, framing, 5);
          const p = arb.mutate(bytes, ms);
          onlyDecodeErrors(() => decodeReply(p, { framing: f, requestId: 5, op: reply.op }), p.length);
        },
      ),
      RUNS,
    );
  });

  it('a SEARCH_READ_V3 count the bytes cannot hold is refused before any entry is read', () => {
    const p = new Uint8Array(52 + 16 + 124);
    const v = new DataView(p.buffer);
    p[0] = 1;
    v.setUint32(4, 0xff, true);
    v.setUint32(8, p.length, true);
    v.setUint32(12, 52, true);
    v.setUint32(20, 29, true);
    v.setBigUint64(52, 0xffffffffffffn, true);
    expect(() => decodeReply(p, { framing: 'v4', requestId: 0, op: 29 })).toThrow(
      /count at offset 52: .* do not fit/,
    );
  });
});
