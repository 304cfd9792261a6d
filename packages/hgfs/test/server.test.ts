import { describe, expect, it } from 'vitest';
import {
  decodeRequest,
  encodeErrorReply,
  encodeHeader,
  encodeLegacyRequestHeader,
  encodeRequest,
  fileName,
  HGFS_INVALID_SESSION_ID,
  HgfsDecodeError,
  HgfsOp,
  HgfsStatus,
  UNREAD_V4_HEADER,
} from '../src/index.js';

function v4(
  op: number,
  body: Uint8Array,
  patch: Partial<Parameters<typeof encodeHeader>[0]> = {},
): Uint8Array {
  const h = encodeHeader({
    version: 1,
    packetSize: 52 + body.length,
    headerSize: 52,
    requestId: 77,
    op,
    status: 0,
    flags: 1,
    information: 0,
    sessionId: 5n,
    ...patch,
  });
  const p = new Uint8Array(52 + body.length);
  p.set(h);
  p.set(body, 52);
  return p;
}

function thrown(f: () => unknown): HgfsDecodeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(HgfsDecodeError);
    return e as HgfsDecodeError;
  }
  throw new Error('did not throw');
}

describe('decodeRequest, server side', () => {
  it('recognises V1/V2 requests by number, to answer them', () => {
    // HgfsRequestGetattr (V1): {id, op 7} then an HgfsFileName
    const p = Uint8Array.of(...encodeLegacyRequestHeader(9, HgfsOp.GETATTR), 1, 0, 0, 0, 0x61, 0);
    const d = decodeRequest(p);
    expect(d).toMatchObject({
      kind: 'unsupported',
      op: HgfsOp.GETATTR,
      address: { framing: 'legacy', requestId: 9 },
    });
    expect(encodeErrorReply(d.address, HgfsStatus.PROTOCOL_ERROR)).toEqual(
      Uint8Array.of(9, 0, 0, 0, 7, 0, 0, 0),
    );
  });

  it('recognises V3 ops without a codec and V4 ops other than sessions', () => {
    expect(decodeRequest(Uint8Array.of(...encodeLegacyRequestHeader(1, 40), 0, 0))).toMatchObject({
      kind: 'unsupported',
      op: 40,
    });
    expect(decodeRequest(v4(HgfsOp.SEARCH_READ_V4, new Uint8Array(40)))).toMatchObject({
      kind: 'unsupported',
      op: 48,
      address: { framing: 'v4', requestId: 77, op: 48, sessionId: 5n },
    });
    expect(decodeRequest(v4(HgfsOp.GETATTR_V2, new Uint8Array(20)))).toMatchObject({
      kind: 'unsupported',
      op: 15,
    });
  });

  it('answers an unknown op under the V4 header, drops one under the legacy header', () => {
    expect(thrown(() => decodeRequest(v4(99, new Uint8Array(8)))).replyTo).toEqual({
      framing: 'v4',
      requestId: 77,
      op: 99,
      sessionId: 5n,
    });
    expect(
      thrown(() => decodeRequest(Uint8Array.of(...encodeLegacyRequestHeader(1, 41), 0))).replyTo,
    ).toBeUndefined();
    expect(thrown(() => decodeRequest(Uint8Array.of(1, 2, 3))).replyTo).toBeUndefined();
  });

  it('refuses bad V4 headers: before the ids are read (as open-vm-tools) with UNREAD_V4_HEADER', () => {
    const body = new Uint8Array(8);
    // open-vm-tools' HgfsUnpackHeaderV4 checks these before it reads the ids: no session, id 0.
    for (const [patch, field] of [
      [{ packetSize: 200 }, 'packetSize'],
      [{ headerSize: 61 }, 'headerSize'],
      [{ version: 0 }, 'version'],
    ] as const) {
      const e = thrown(() => decodeRequest(v4(HgfsOp.CLOSE_V3, body, patch)));
      expect(e.field).toBe(field);
      expect(e.replyTo).toBe(UNREAD_V4_HEADER);
    }
    expect(UNREAD_V4_HEADER).toEqual({
      framing: 'v4',
      requestId: 0,
      op: HgfsOp.NEW_HEADER,
      sessionId: HGFS_INVALID_SESSION_ID,
    });
    const short = thrown(() => decodeRequest(v4(HgfsOp.CLOSE_V3, body).subarray(0, 20)));
    expect([short.field, short.replyTo]).toEqual(['header', UNREAD_V4_HEADER]);
    // Checked after the ids are read: ours (headerSize below 52), and flags without REQUEST/REPLY.
    for (const [patch, field] of [
      [{ headerSize: 40 }, 'headerSize'],
      [{ version: 2, flags: 8 }, 'flags'],
    ] as const) {
      const e = thrown(() => decodeRequest(v4(HgfsOp.CLOSE_V3, body, patch)));
      expect(e.field).toBe(field);
      expect(e.replyTo).toEqual({ framing: 'v4', requestId: 77, op: HgfsOp.CLOSE_V3, sessionId: 5n });
    }
    // version 1 may carry garbage flags (open-vm-tools ignores them)
    expect(decodeRequest(v4(HgfsOp.DESTROY_SESSION_V4, body, { flags: 8 })).kind).toBe('request');
    // under 8 bytes: dropped
    expect(thrown(() => decodeRequest(v4(0, new Uint8Array(0)).subarray(0, 7))).replyTo).toBeUndefined();
  });

  it('takes no WRITE_V3 body under 26 bytes (the struct with its payload byte), an empty write too', () => {
    const empty = encodeRequest(
      { op: HgfsOp.WRITE_V3, file: 1, flags: 0, offset: 0n, data: new Uint8Array(0) },
      { framing: 'v4', requestId: 3, sessionId: 5n },
    );
    // Ours sends the pad byte, so an empty write decodes; one byte less is refused.
    expect(empty.length).toBe(52 + 26);
    expect(decodeRequest(empty)).toMatchObject({ kind: 'request', request: { data: new Uint8Array(0) } });
    const cut = empty.slice(0, -1);
    new DataView(cut.buffer).setUint32(8, cut.length, true); // packetSize
    const e = thrown(() => decodeRequest(cut));
    expect([e.field, e.replyTo?.requestId]).toEqual(['body', 3]);
    // With data, 25 + n bytes, as vmhgfs-fuse sends.
    const one = encodeRequest(
      { op: HgfsOp.WRITE_V3, file: 1, flags: 0, offset: 0n, data: Uint8Array.of(7) },
      { framing: 'legacy', requestId: 4 },
    );
    expect(one.length).toBe(8 + 26);
  });

  it('takes no WRITE_V3 body under 26 bytes (the struct with its payload byte), an empty write too', () => {
    const empty = encodeRequest(
      { op: HgfsOp.WRITE_V3, file: 1, flags: 0, offset: 0n, data: new Uint8Array(0) },
      { framing: 'v4', requestId: 3, sessionId: 5n },
    );
    // Ours sends the pad byte, so an empty write decodes; one byte less is refused.
    expect(empty.length).toBe(52 + 26);
    expect(decodeRequest(empty)).toMatchObject({ kind: 'request', request: { data: new Uint8Array(0) } });
    const cut = empty.slice(0, -1);
    new DataView(cut.buffer).setUint32(8, cut.length, true); // packetSize
    const e = thrown(() => decodeRequest(cut));
    expect([e.field, e.replyTo?.requestId]).toEqual(['body', 3]);
    // With data, 25 + n bytes, as vmhgfs-fuse sends.
    const one = encodeRequest(
      { op: HgfsOp.WRITE_V3, file: 1, flags: 0, offset: 0n, data: Uint8Array.of(7) },
      { framing: 'legacy', requestId: 4 },
    );
    expect(one.length).toBe(8 + 26);
  });

  it('refuses a body too short, with the op, field and offset, and an address', () => {
    const p = encodeRequest(
      { op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(['s', 'a']) },
      { framing: 'v4', requestId: 3, sessionId: 1n },
    );
    const cut = p.slice(0, p.length - 1);
    new DataView(cut.buffer).setUint32(8, cut.length, true); // packetSize
    const e = thrown(() => decodeRequest(cut));
    expect(e.message).toMatch(/^GETATTR_V3: fileName\.name at offset 84: needs 4 bytes, 3 present/);
    expect(e.replyTo).toEqual({ framing: 'v4', requestId: 3, op: 31, sessionId: 1n });
  });

  it('refuses a path escaping its share, and a name longer than the bytes', () => {
    const p = encodeRequest(
      { op: HgfsOp.GETATTR_V3, hints: 0n, fileName: fileName(['s', 'xx']) },
      { framing: 'legacy', requestId: 3 },
    );
    p.set([0x2e, 0x2e], 8 + 16 + 16 + 2);
    expect(thrown(() => decodeRequest(p)).message).toMatch(
      /fileName\.name at offset 42: has a '\.\.' component/,
    );
    new DataView(p.buffer).setUint32(8 + 16, 0xffffffff, true);
    expect(thrown(() => decodeRequest(p)).message).toMatch(/needs 4294967296 bytes/);
  });
});

describe('decodeRequest: names a host answers with a status', () => {
  /** GETATTR_V3 whose name is the raw CPName `name` (hints, reserved, FileNameV3). */
  function getattr(name: Uint8Array, length = name.length): Uint8Array {
    const body = new Uint8Array(16 + 16 + name.length + 1);
    const v = new DataView(body.buffer);
    v.setUint32(16, length, true);
    v.setUint32(24, 1, true); // case sensitive
    v.setUint32(28, 0xffffffff, true);
    body.set(name, 32);
    return v4(HgfsOp.GETATTR_V3, body);
  }
  const cp = (...parts: string[]) => new Uint8Array(Buffer.from(parts.join('\0')));

  it("says 'invalid-name' for '..', an empty component, '/' or bad UTF-8, with a reply address", () => {
    for (const name of [cp('s', '..', 'x'), cp('s', '', 'x'), cp('s', 'a/b'), Uint8Array.of(0x73, 0, 0xff)]) {
      const e = thrown(() => decodeRequest(getattr(name)));
      expect(e.problem).toBe('invalid-name');
      expect(e.replyTo).toMatchObject({ framing: 'v4', requestId: 77, op: HgfsOp.GETATTR_V3 });
    }
  });

  it("says 'name-too-long' for a component over 255 bytes", () => {
    const e = thrown(() => decodeRequest(getattr(cp('s', 'x'.repeat(256)))));
    expect(e.problem).toBe('name-too-long');
    expect(e.replyTo).toBeDefined();
  });

  it('says nothing of names when the length runs past the packet (a malformed packet)', () => {
    const e = thrown(() => decodeRequest(getattr(cp('s', 'x'), 5000)));
    expect(e.problem).toBeUndefined();
    expect(e.field).toMatch(/fileName/);
  });
});
