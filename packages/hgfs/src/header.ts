import { Reader, Writer } from './bytes.js';
import {
  HGFS_FIRST_V3_OP,
  HGFS_FIRST_V4_OP,
  HGFS_HEADER_SIZE,
  HGFS_HEADER_VERSION,
  HGFS_LEGACY_HEADER_SIZE,
  HgfsOp,
} from './constants.js';
import { HgfsDecodeError } from './errors.js';

/** Which header a packet carries: the 52-byte V4 one, or the 8-byte legacy {id, op|status}. */
export type Framing = 'v4' | 'legacy';

/**
 * What a server sees at offset 4 of a request (docs/protocol/hgfs.md §3.1): a V1/V2 op (the
 * legacy header is part of the op's struct), a V3 op after the legacy header, or the V4 header.
 */
export type PacketKind = 'v1v2' | 'legacy-v3' | 'v4';

/** The 52-byte `HgfsHeader` (its `dummy` field is always NEW_HEADER and not kept here). */
export interface HgfsHeader {
  version: number;
  /** Header plus payload, in bytes. */
  packetSize: number;
  /** Where the payload starts. */
  headerSize: number;
  requestId: number;
  op: number;
  status: number;
  flags: number;
  information: number;
  sessionId: bigint;
}

/** The 52 bytes of a V4 header. Fields out of range are an HgfsEncodeError. */
export function encodeHeader(h: HgfsHeader): Uint8Array {
  const w = new Writer(HGFS_HEADER_SIZE, h.op);
  writeHeader(w, h);
  return w.bytes;
}

/** Writes a V4 header at the start of `w`. */
export function writeHeader(w: Writer, h: HgfsHeader): void {
  w.u8('version', 0, h.version);
  w.u32('dummy', 4, HgfsOp.NEW_HEADER);
  w.u32('packetSize', 8, h.packetSize);
  w.u32('headerSize', 12, h.headerSize);
  w.u32('requestId', 16, h.requestId);
  w.u32('op', 20, h.op);
  w.u32('status', 24, h.status);
  w.u32('flags', 28, h.flags);
  w.u32('information', 32, h.information);
  w.u64('sessionId', 36, h.sessionId);
}

/**
 * Reads a V4 header and checks it as open-vm-tools' server and vmhgfs-fuse do: 52 bytes at
 * least, dummy = 0xFF, packetSize ≤ the bytes received, headerSize ≤ packetSize, version ≥ 1;
 * and, stricter than they are, headerSize ≥ 52 (a smaller one would put the payload inside the
 * header).
 */
export function decodeHeader(packet: Uint8Array): HgfsHeader {
  const r = new Reader(packet, undefined);
  r.need('header', 0, HGFS_HEADER_SIZE);
  const dummy = r.u32('dummy', 4);
  const op = r.u32('op', 20);
  const fail = (field: string, offset: number, reason: string): never => {
    throw new HgfsDecodeError(op, field, offset, reason);
  };
  if (dummy !== HgfsOp.NEW_HEADER) fail('dummy', 4, `is ${dummy}, not 0xff (NEW_HEADER)`);
  const h: HgfsHeader = {
    version: r.u8('version', 0),
    packetSize: r.u32('packetSize', 8),
    headerSize: r.u32('headerSize', 12),
    requestId: r.u32('requestId', 16),
    op,
    status: r.u32('status', 24),
    flags: r.u32('flags', 28),
    information: r.u32('information', 32),
    sessionId: r.u64('sessionId', 36),
  };
  if (h.version < HGFS_HEADER_VERSION) fail('version', 0, `is ${h.version}, below 1`);
  if (h.packetSize > packet.length) {
    fail('packetSize', 8, `says ${h.packetSize} bytes, ${packet.length} received`);
  }
  if (h.headerSize > h.packetSize) {
    fail('headerSize', 12, `${h.headerSize} is larger than packetSize ${h.packetSize}`);
  }
  if (h.headerSize < HGFS_HEADER_SIZE) fail('headerSize', 12, `${h.headerSize} is below ${HGFS_HEADER_SIZE}`);
  return h;
}

/** The 8-byte legacy request header {id, op}. */
export function encodeLegacyRequestHeader(requestId: number, op: number): Uint8Array {
  const w = new Writer(HGFS_LEGACY_HEADER_SIZE, op);
  w.u32('requestId', 0, requestId);
  w.u32('op', 4, op);
  return w.bytes;
}

/** The 8-byte legacy reply header {id, status}. */
export function encodeLegacyReplyHeader(requestId: number, status: number): Uint8Array {
  const w = new Writer(HGFS_LEGACY_HEADER_SIZE, undefined);
  w.u32('requestId', 0, requestId);
  w.u32('status', 4, status);
  return w.bytes;
}

/**
 * The server's dispatch rule on the u32 at offset 4: below OPEN_V3 a V1/V2 request, below
 * CREATE_SESSION_V4 a V3 request after the legacy header, 0xFF the V4 header. Anything else, and
 * a packet under 8 bytes, is an HgfsDecodeError without `replyTo`: open-vm-tools drops those.
 */
export function classifyPacket(packet: Uint8Array): PacketKind {
  const r = new Reader(packet, undefined);
  r.need('header', 0, HGFS_LEGACY_HEADER_SIZE);
  const op = r.u32('op', 4);
  if (op < HGFS_FIRST_V3_OP) return 'v1v2';
  if (op < HGFS_FIRST_V4_OP) return 'legacy-v3';
  if (op === HgfsOp.NEW_HEADER) return 'v4';
  return r.fail('op', 4, `${op} is no V1-V3 op and not NEW_HEADER under a legacy header`);
}
