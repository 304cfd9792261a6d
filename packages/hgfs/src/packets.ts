import { Reader, Writer } from './bytes.js';
import {
  HGFS_HEADER_SIZE,
  HGFS_HEADER_VERSION,
  HGFS_INVALID_SESSION_ID,
  HGFS_LEGACY_HEADER_SIZE,
  HGFS_OP_MAX,
  HgfsOp,
  HgfsPacketFlags,
  HgfsStatus,
} from './constants.js';
import { HgfsDecodeError, HgfsEncodeError, type ReplyAddress } from './errors.js';
import { classifyPacket, decodeHeader, type Framing, type HgfsHeader, writeHeader } from './header.js';
import { type CodecOp, type HgfsReply, type HgfsRequest, isCodecOp } from './messages.js';
import { prepareReplyBody, readReplyBody } from './replies.js';
import { type PreparedBody, prepareRequestBody, readRequestBody } from './requests.js';

// Whole packets: a header and a body. docs/protocol/hgfs.md §3 (framing) and §5 (bodies).

/** Where a client sends a request: the V4 header with a session, or the legacy header. */
export type RequestTarget =
  | { readonly framing: 'v4'; readonly requestId: number; readonly sessionId: bigint }
  | { readonly framing: 'legacy'; readonly requestId: number };

function packet(
  framing: Framing,
  body: PreparedBody,
  writeHead: (w: Writer) => void,
  op: number,
): Uint8Array {
  const headerSize = framing === 'v4' ? HGFS_HEADER_SIZE : HGFS_LEGACY_HEADER_SIZE;
  const w = new Writer(headerSize + body.size, op);
  writeHead(w);
  body.write(w, headerSize);
  return w.bytes;
}

/** A request packet (client side). Throws HgfsEncodeError / HgfsNameError for what cannot be sent. */
export function encodeRequest(req: HgfsRequest, to: RequestTarget): Uint8Array {
  const body = prepareRequestBody(req);
  return packet(
    to.framing,
    body,
    (w) => {
      if (to.framing === 'v4') {
        writeHeader(w, {
          version: HGFS_HEADER_VERSION,
          packetSize: HGFS_HEADER_SIZE + body.size,
          headerSize: HGFS_HEADER_SIZE,
          requestId: to.requestId,
          op: req.op,
          status: 0,
          flags: HgfsPacketFlags.REQUEST,
          information: 0,
          sessionId: to.sessionId,
        });
      } else {
        w.u32('requestId', 0, to.requestId);
        w.u32('op', 4, req.op);
      }
    },
    req.op,
  );
}

/** A reply as a client sees it: its status, and the decoded body when the status is SUCCESS. */
export interface DecodedReply<R extends HgfsReply = HgfsReply> {
  status: number;
  /** V4 header's information field (open-vm-tools puts the status there too); 0 under the legacy header. */
  information: number;
  /** V4 header's session id; undefined under the legacy header. */
  sessionId: bigint | undefined;
  reply: R | undefined;
}

/** What a client expects of a reply: the framing it sent, its request id and op. */
export interface ReplyExpectation<O extends CodecOp = CodecOp> {
  readonly framing: Framing;
  readonly requestId: number;
  readonly op: O;
}

/**
 * Decodes a reply packet (client side) and checks it answers the request: same framing, request
 * id and op (V4). A reply with a status other than SUCCESS is returned with `reply` undefined
 * (its body, if any, is not read). Throws only HgfsDecodeError.
 */
export function decodeReply<O extends CodecOp>(
  bytes: Uint8Array,
  expect: ReplyExpectation<O>,
): DecodedReply<Extract<HgfsReply, { op: O }>> {
  const op = expect.op;
  let body: Reader;
  let status: number;
  let information = 0;
  let sessionId: bigint | undefined;
  if (expect.framing === 'v4') {
    let h: HgfsHeader;
    try {
      h = decodeHeader(bytes);
    } catch (e) {
      throw e instanceof HgfsDecodeError
        ? new HgfsDecodeError(op, e.field, e.offset, e.reason, undefined, e.problem)
        : e;
    }
    if (h.requestId !== expect.requestId) {
      throw new HgfsDecodeError(
        op,
        'requestId',
        16,
        `is ${h.requestId}, the request's is ${expect.requestId}`,
      );
    }
    if (h.op !== op) throw new HgfsDecodeError(op, 'op', 20, `is ${h.op}, the request's is ${op}`);
    // vmhgfs-fuse: older servers send flags 0; otherwise REPLY must be set.
    if (h.flags !== 0 && (h.flags & HgfsPacketFlags.REPLY) === 0) {
      throw new HgfsDecodeError(op, 'flags', 28, `0x${h.flags.toString(16)} lacks REPLY`);
    }
    status = h.status;
    information = h.information;
    sessionId = h.sessionId;
    body = new Reader(bytes.subarray(h.headerSize, h.packetSize), op, h.headerSize);
  } else {
    const r = new Reader(bytes, op);
    r.need('header', 0, HGFS_LEGACY_HEADER_SIZE);
    const id = r.u32('requestId', 0);
    if (id !== expect.requestId) r.fail('requestId', 0, `is ${id}, the request's is ${expect.requestId}`);
    status = r.u32('status', 4);
    body = r.from(HGFS_LEGACY_HEADER_SIZE);
  }
  if (status !== HgfsStatus.SUCCESS) return { status, information, sessionId, reply: undefined };
  const reply = readReplyBody(op, body) as Extract<HgfsReply, { op: O }>;
  return { status, information, sessionId, reply };
}

/** A request as a server sees it. */
export type DecodedRequest =
  | {
      readonly kind: 'request';
      readonly address: ReplyAddress;
      /** The V4 header, or undefined under the legacy one. */
      readonly header: HgfsHeader | undefined;
      readonly request: HgfsRequest;
    }
  | {
      /**
       * A known op without a codec here (V1/V2 ops, lock changes, Win32 streams, V4 ops other than
       * the session ones): answer it with encodeErrorReply (PROTOCOL_ERROR makes vmhgfs-fuse
       * fall back to an older op; OPERATION_NOT_SUPPORTED does not).
       */
      readonly kind: 'unsupported';
      readonly address: ReplyAddress;
      readonly header: HgfsHeader | undefined;
      readonly op: number;
    };

/**
 * Where the answer to a V4 packet whose header failed open-vm-tools' checks goes: that server
 * reads the request id, op and session id only after them, so it answers request id 0 (its
 * initial value), an op it never read (ours: NEW_HEADER, no operation, so no client takes the
 * reply for an answer to a request of its) and no session (HGFS_INVALID_SESSION_ID), which makes
 * the status STALE_SESSION (docs/protocol/hgfs.md §3.3).
 */
export const UNREAD_V4_HEADER: ReplyAddress = Object.freeze({
  framing: 'v4',
  requestId: 0,
  op: HgfsOp.NEW_HEADER,
  sessionId: HGFS_INVALID_SESSION_ID,
});

/**
 * True when a V4 packet passes the header checks open-vm-tools' server makes before it reads the
 * ids (HgfsUnpackHeaderV4): 52 bytes, packetSize ≤ the bytes received, headerSize ≤ packetSize,
 * version ≥ 1. decodeHeader checks more (headerSize ≥ 52): that server has read the ids by then.
 */
function headerIdsReadable(bytes: Uint8Array): boolean {
  if (bytes.length < HGFS_HEADER_SIZE) return false;
  const r = new Reader(bytes, undefined);
  const packetSize = r.u32('packetSize', 8);
  return (
    r.u8('version', 0) >= HGFS_HEADER_VERSION &&
    packetSize <= bytes.length &&
    r.u32('headerSize', 12) <= packetSize
  );
}

/**
 * Decodes a request packet (server side), following open-vm-tools' dispatch rule. Throws only
 * HgfsDecodeError: with `replyTo` set when the packet is to be answered (PROTOCOL_ERROR, or a
 * status for a bad name, once the session checks out; `replyTo` is UNREAD_V4_HEADER for a V4
 * header that failed the checks made before its ids are read: STALE_SESSION), without when the
 * packet must be dropped unanswered (under 8 bytes, or an unknown op at offset 4).
 */
export function decodeRequest(bytes: Uint8Array): DecodedRequest {
  const kind = classifyPacket(bytes);
  const r = new Reader(bytes, undefined);
  if (kind !== 'v4') {
    const address: ReplyAddress = { framing: 'legacy', requestId: r.u32('requestId', 0), op: r.u32('op', 4) };
    const op = address.op;
    if (kind === 'v1v2' || !isCodecOp(op)) return { kind: 'unsupported', address, header: undefined, op };
    return {
      kind: 'request',
      address,
      header: undefined,
      request: decodeBody(op, bytes, HGFS_LEGACY_HEADER_SIZE, bytes.length, address),
    };
  }
  let header: HgfsHeader;
  try {
    header = decodeHeader(bytes);
  } catch (e) {
    if (!(e instanceof HgfsDecodeError)) throw e;
    const replyTo = headerIdsReadable(bytes) ? v4Address(r) : UNREAD_V4_HEADER;
    throw new HgfsDecodeError(e.op, e.field, e.offset, e.reason, replyTo, e.problem);
  }
  const address = v4Address(r);
  const op = header.op;
  // Header version 1 may carry garbage in flags (open-vm-tools ignores them); later ones may not.
  if (
    header.version > HGFS_HEADER_VERSION &&
    header.flags !== 0 &&
    (header.flags & (HgfsPacketFlags.REQUEST | HgfsPacketFlags.REPLY)) === 0
  ) {
    throw new HgfsDecodeError(
      op,
      'flags',
      28,
      `0x${header.flags.toString(16)} has neither REQUEST nor REPLY`,
      address,
    );
  }
  if (op >= HGFS_OP_MAX) throw new HgfsDecodeError(op, 'op', 20, `${op} is no operation`, address);
  if (!isCodecOp(op)) return { kind: 'unsupported', address, header, op };
  return {
    kind: 'request',
    address,
    header,
    request: decodeBody(op, bytes, header.headerSize, header.packetSize, address),
  };
}

function v4Address(r: Reader): ReplyAddress {
  return {
    framing: 'v4',
    requestId: r.u32('requestId', 16),
    op: r.u32('op', 20),
    sessionId: r.u64('sessionId', 36),
  };
}

function decodeBody(
  op: CodecOp,
  bytes: Uint8Array,
  start: number,
  end: number,
  address: ReplyAddress,
): HgfsRequest {
  try {
    return readRequestBody(op, new Reader(bytes.subarray(start, end), op, start));
  } catch (e) {
    throw e instanceof HgfsDecodeError ? e.withReplyTo(address) : e;
  }
}

function replyHead(
  w: Writer,
  to: ReplyAddress,
  bodySize: number,
  status: number,
  information: number,
  sessionId: bigint,
) {
  if (to.framing === 'v4') {
    writeHeader(w, {
      version: HGFS_HEADER_VERSION,
      packetSize: HGFS_HEADER_SIZE + bodySize,
      headerSize: HGFS_HEADER_SIZE,
      requestId: to.requestId,
      op: to.op,
      status,
      flags: HgfsPacketFlags.REPLY,
      information,
      sessionId,
    });
  } else {
    w.u32('requestId', 0, to.requestId);
    w.u32('status', 4, status);
  }
}

/**
 * A SUCCESS reply packet (server side). The V4 header carries the request's session id, or the
 * new one for CREATE_SESSION_V4. `reply.op` must be the request's op.
 */
export function encodeReply(to: ReplyAddress, reply: HgfsReply): Uint8Array {
  if (reply.op !== to.op) {
    throw new HgfsEncodeError(reply.op, 'op', `a reply of op ${reply.op} to a request of op ${to.op}`);
  }
  const body = prepareReplyBody(reply);
  const sessionId =
    to.framing === 'v4' ? (reply.op === HgfsOp.CREATE_SESSION_V4 ? reply.sessionId : to.sessionId) : 0n;
  return packet(
    to.framing,
    body,
    (w) => replyHead(w, to, body.size, HgfsStatus.SUCCESS, 0, sessionId),
    reply.op,
  );
}

/**
 * An error reply: the header alone, with `status` (not SUCCESS). As open-vm-tools does, the V4
 * header's information repeats the status unless told otherwise.
 */
export function encodeErrorReply(to: ReplyAddress, status: number, information = status): Uint8Array {
  if (status === HgfsStatus.SUCCESS)
    throw new HgfsEncodeError(to.op, 'status', 'an error reply needs an error status');
  const sessionId = to.framing === 'v4' ? to.sessionId : 0n;
  const empty: PreparedBody = { size: 0, write() {} };
  return packet(to.framing, empty, (w) => replyHead(w, to, 0, status, information, sessionId), to.op);
}
