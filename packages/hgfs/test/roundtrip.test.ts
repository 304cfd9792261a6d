import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeAttrV2,
  decodeCPName,
  decodeCPNameLite,
  decodeFileNameV3,
  decodeHeader,
  decodeReply,
  decodeRequest,
  encodeAttrV2,
  encodeCPName,
  encodeCPNameLite,
  encodeErrorReply,
  encodeFileNameV3,
  encodeHeader,
  encodeReply,
  encodeRequest,
  HGFS_FIRST_V4_OP,
  type HgfsRequest,
  HgfsStatus,
  type ReplyAddress,
  type RequestTarget,
} from '../src/index.js';
import * as arb from './arbitraries.js';

const RUNS = { numRuns: 500 };

function targetFor(
  req: HgfsRequest,
  framing: 'v4' | 'legacy',
  requestId: number,
  sessionId: bigint,
): RequestTarget {
  // Session ops only exist under the V4 header.
  return framing === 'v4' || req.op >= HGFS_FIRST_V4_OP
    ? { framing: 'v4', requestId, sessionId }
    : { framing: 'legacy', requestId };
}

describe('round trips', () => {
  it('every request, client encode → server decode', () => {
    fc.assert(
      fc.property(arb.request, arb.framing, arb.u32, arb.u64, (req, framing, requestId, sessionId) => {
        const to = targetFor(req, framing, requestId, sessionId);
        const d = decodeRequest(encodeRequest(req, to));
        expect(d.kind).toBe('request');
        if (d.kind !== 'request') return;
        expect(d.request).toEqual(req);
        expect(d.address).toEqual(
          to.framing === 'v4'
            ? { framing: 'v4', requestId, op: req.op, sessionId }
            : { framing: 'legacy', requestId, op: req.op },
        );
      }),
      RUNS,
    );
  });

  it('every reply, server encode → client decode', () => {
    fc.assert(
      fc.property(arb.reply, arb.framing, arb.u32, arb.u64, (reply, framing, requestId, sessionId) => {
        const to: ReplyAddress =
          framing === 'v4' || reply.op >= HGFS_FIRST_V4_OP
            ? { framing: 'v4', requestId, op: reply.op, sessionId }
            : { framing: 'legacy', requestId, op: reply.op };
        const d = decodeReply(encodeReply(to, reply), { framing: to.framing, requestId, op: reply.op });
        expect(d.status).toBe(HgfsStatus.SUCCESS);
        expect(d.reply).toEqual(reply);
        if (to.framing === 'v4') expect(d.sessionId).toBe('sessionId' in reply ? reply.sessionId : sessionId);
      }),
      RUNS,
    );
  });

  it('error replies carry their status and nothing else', () => {
    fc.assert(
      fc.property(
        arb.request,
        arb.framing,
        arb.u32,
        fc.integer({ min: 1, max: 0xffffffff }),
        (req, framing, id, status) => {
          const to: ReplyAddress =
            framing === 'v4'
              ? { framing, requestId: id, op: req.op, sessionId: 9n }
              : { framing, requestId: id, op: req.op };
          const d = decodeReply(encodeErrorReply(to, status), { framing, requestId: id, op: req.op });
          expect(d.status).toBe(status);
          expect(d.reply).toBeUndefined();
        },
      ),
      RUNS,
    );
  });

  it('V4 headers', () => {
    const header = fc.record({
      version: fc.integer({ min: 1, max: 255 }),
      packetSize: fc.integer({ min: 52, max: 200 }),
      headerSize: fc.constant(52),
      requestId: arb.u32,
      op: arb.u32,
      status: arb.u32,
      flags: arb.u32,
      information: arb.u32,
      sessionId: arb.u64,
    });
    fc.assert(
      fc.property(header, (h) => {
        const bytes = new Uint8Array(h.packetSize);
        bytes.set(encodeHeader(h));
        expect(decodeHeader(bytes)).toEqual(h);
      }),
      RUNS,
    );
  });

  it('HgfsAttrV2', () => {
    fc.assert(
      fc.property(arb.attr, (a) => {
        const bytes = encodeAttrV2(a);
        expect(bytes.length).toBe(104);
        expect(decodeAttrV2(bytes)).toEqual(a);
      }),
      RUNS,
    );
  });

  it('HgfsFileNameV3', () => {
    fc.assert(
      fc.property(arb.fileNameV3, (fn) => {
        const bytes = encodeFileNameV3(fn);
        expect(decodeFileNameV3(bytes)).toEqual({ fileName: fn, size: bytes.length });
      }),
      RUNS,
    );
  });

  it('CPNames and CPNameLite targets, exactly', () => {
    fc.assert(
      fc.property(arb.path, arb.target, (p, t) => {
        expect(decodeCPName(encodeCPName(p))).toEqual(p);
        const lite = encodeCPNameLite(t);
        expect(lite.includes(0x2f)).toBe(false);
        expect(decodeCPNameLite(lite)).toBe(t);
      }),
      RUNS,
    );
  });
});
