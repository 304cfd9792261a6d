import { describe, expect, it } from 'vitest';
import {
  decodeReply,
  decodeRequest,
  encodeErrorReply,
  encodeReply,
  encodeRequest,
  HGFS_LARGE_PACKET_MAX,
  HgfsOp,
  HgfsStatus,
  rpciRequest,
} from '../src/index.js';

const hex = (s: string) =>
  Uint8Array.from(
    s
      .replace(/\s+/g, '')
      .match(/../g)!
      .map((b) => Number.parseInt(b, 16)),
  );

// docs/protocol/hgfs.md §8: the first request vmhgfs-fuse sends (session.c HgfsPackCreateSessionRequest,
// request.c HgfsPackHeader): its state starts zeroed, so sessionId is 0; it sends the C struct with
// its one unused capability slot (24 bytes) and maxPacketSize = HgfsLargePacketMax(FALSE).
const createSession76 = hex(`
  01 000000  ff000000  4c000000 34000000
  07000000  29000000  00000000 01000000 00000000
  0000000000000000  0000000000000000
  00000000 00f80700 00000000 00000000 0000000000000000`);

describe('golden vectors', () => {
  it('encodes the 76-byte CREATE_SESSION_V4 request vmhgfs-fuse sends', () => {
    const packet = encodeRequest(
      { op: HgfsOp.CREATE_SESSION_V4, maxPacketSize: HGFS_LARGE_PACKET_MAX, flags: 0, capabilities: [] },
      { framing: 'v4', requestId: 7, sessionId: 0n },
    );
    expect(packet.length).toBe(76);
    expect(packet).toEqual(createSession76);
    expect(rpciRequest(packet).subarray(0, 2)).toEqual(Uint8Array.of(0x66, 0x20));
  });

  it('decodes it on the server side', () => {
    const d = decodeRequest(createSession76);
    expect(d.kind).toBe('request');
    if (d.kind !== 'request') return;
    expect(d.address).toEqual({ framing: 'v4', requestId: 7, op: 41, sessionId: 0n });
    expect(d.request).toEqual({ op: 41, maxPacketSize: 522240, flags: 0, capabilities: [] });
  });

  it('answers it as open-vm-tools does and the client reads the session', () => {
    const to = { framing: 'v4', requestId: 7, op: HgfsOp.CREATE_SESSION_V4, sessionId: 0n } as const;
    const reply = encodeReply(to, {
      op: HgfsOp.CREATE_SESSION_V4,
      sessionId: 0x1122334455667788n,
      maxPacketSize: 63488,
      flags: 1,
      capabilities: [{ op: HgfsOp.OPEN_V3, flags: 1 }],
    });
    expect(reply.length).toBe(52 + 28 + 8);
    // header: version 1, dummy 0xff, sizes, id, op, status 0, flags REPLY, information 0, new session id
    expect(reply.subarray(0, 44)).toEqual(
      hex(
        '01000000 ff000000 58000000 34000000 07000000 29000000 00000000 02000000 00000000 8877665544332211',
      ),
    );
    const d = decodeReply(reply, { framing: 'v4', requestId: 7, op: HgfsOp.CREATE_SESSION_V4 });
    expect(d.status).toBe(0);
    expect(d.sessionId).toBe(0x1122334455667788n);
    expect(d.reply?.maxPacketSize).toBe(63488);
  });

  it('writes a V4 error reply as the header alone, information = status', () => {
    const r = encodeErrorReply(
      { framing: 'v4', requestId: 3, op: 31, sessionId: 5n },
      HgfsStatus.NO_SUCH_FILE_OR_DIR,
    );
    expect(r).toEqual(
      hex(
        '01000000 ff000000 34000000 34000000 03000000 1f000000 01000000 02000000 01000000 0500000000000000 0000000000000000',
      ),
    );
    const legacy = encodeErrorReply({ framing: 'legacy', requestId: 3, op: 31 }, HgfsStatus.PROTOCOL_ERROR);
    expect(legacy).toEqual(hex('03000000 07000000'));
  });

  it('encodes GETATTR_V3 of share/a as vmhgfs-fuse lays it out', () => {
    const p = encodeRequest(
      {
        op: HgfsOp.GETATTR_V3,
        hints: 0n,
        fileName: { path: ['share', 'a'], flags: 0, caseType: 1, fid: 0xffffffff },
      },
      { framing: 'legacy', requestId: 1 },
    );
    // legacy header {id 1, op 31}; hints; reserved; FileNameV3 {length 7, flags 0, caseType 1, fid ~0} "share\0a" NUL
    expect(p).toEqual(
      hex(`01000000 1f000000 0000000000000000 0000000000000000
           07000000 00000000 01000000 ffffffff 7368617265 00 61 00`),
    );
  });
});
