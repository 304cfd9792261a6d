// One GuestRPC packet of the version 4 transport: the 56-byte header and its payload
// (docs/protocol/dndcp.md §3.1, §4.1).

import { DNDCP_BINARY_MAX, DNDCP_HEADER_SIZE, DNDCP_PACKET_MAX, DNDCP_PAYLOAD_MAX } from './constants.js';
import { DndCpDecodeError, DndCpEncodeError } from './errors.js';

export interface DndCpMessageHeader {
  cmd: number;
  type: number;
  src: number;
  sessionId: number;
  status: number;
  /** param1..param6, u32 each. */
  params: [number, number, number, number, number, number];
  /** Size of the whole binary of the message, of which this packet carries a slice. */
  binarySize: number;
  /** Where this packet's payload starts in the binary. */
  payloadOffset: number;
  /** Bytes after the header in this packet. */
  payloadSize: number;
}

export interface DndCpPacket {
  header: DndCpMessageHeader;
  payload: Buffer;
}

/** Byte offsets of the header's fields (§3.1). */
export const HeaderOffset = {
  cmd: 0,
  type: 4,
  src: 8,
  sessionId: 12,
  status: 16,
  param1: 20,
  binarySize: 44,
  payloadOffset: 48,
  payloadSize: 52,
} as const;

function u32(field: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new DndCpEncodeError(field, `${v} is not a u32`);
  return v;
}

/**
 * Writes one packet: the header (payloadSize = payload.length) and the payload. It writes what it
 * is given, also a header that decodePacket would refuse (a test peer needs those); only the
 * numbers' range and the packet's size are checked.
 */
export function encodePacket(header: Omit<DndCpMessageHeader, 'payloadSize'>, payload: Uint8Array): Buffer {
  if (payload.length > DNDCP_PACKET_MAX - DNDCP_HEADER_SIZE)
    throw new DndCpEncodeError(
      'payload',
      `${payload.length} bytes; one packet carries at most ${DNDCP_PAYLOAD_MAX}`,
    );
  const b = Buffer.alloc(DNDCP_HEADER_SIZE + payload.length);
  b.writeUInt32LE(u32('cmd', header.cmd), HeaderOffset.cmd);
  b.writeUInt32LE(u32('type', header.type), HeaderOffset.type);
  b.writeUInt32LE(u32('src', header.src), HeaderOffset.src);
  b.writeUInt32LE(u32('sessionId', header.sessionId), HeaderOffset.sessionId);
  b.writeUInt32LE(u32('status', header.status), HeaderOffset.status);
  if (header.params.length !== 6)
    throw new DndCpEncodeError('params', `${header.params.length} params, not 6`);
  header.params.forEach((p, i) => {
    b.writeUInt32LE(u32(`param${i + 1}`, p), HeaderOffset.param1 + 4 * i);
  });
  b.writeUInt32LE(u32('binarySize', header.binarySize), HeaderOffset.binarySize);
  b.writeUInt32LE(u32('payloadOffset', header.payloadOffset), HeaderOffset.payloadOffset);
  b.writeUInt32LE(payload.length, HeaderOffset.payloadSize);
  b.set(payload, DNDCP_HEADER_SIZE);
  return b;
}

/** Reads the 56 header bytes without judging them (for logs and for a reply to a bad packet). */
export function readHeader(packet: Uint8Array): DndCpMessageHeader {
  if (packet.length < DNDCP_HEADER_SIZE)
    throw new DndCpDecodeError(
      'packetSize',
      `${packet.length} bytes, shorter than the ${DNDCP_HEADER_SIZE}-byte header`,
      0,
    );
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  const at = (o: number) => b.readUInt32LE(o);
  return {
    cmd: at(HeaderOffset.cmd),
    type: at(HeaderOffset.type),
    src: at(HeaderOffset.src),
    sessionId: at(HeaderOffset.sessionId),
    status: at(HeaderOffset.status),
    params: [at(20), at(24), at(28), at(32), at(36), at(40)],
    binarySize: at(HeaderOffset.binarySize),
    payloadOffset: at(HeaderOffset.payloadOffset),
    payloadSize: at(HeaderOffset.payloadSize),
  };
}

/**
 * Decodes one packet, checking exactly what vmtoolsd checks before it looks at a packet (§4.1):
 * 56 ≤ size ≤ 65436, payloadSize ≤ 65380 and = size − 56, binarySize ≤ 4 MiB, and the payload lies
 * inside the binary. Throws DndCpDecodeError naming the field. The payload is a copy.
 */
export function decodePacket(packet: Uint8Array): DndCpPacket {
  if (packet.length > DNDCP_PACKET_MAX)
    throw new DndCpDecodeError(
      'packetSize',
      `${packet.length} bytes, over the ${DNDCP_PACKET_MAX}-byte packet limit`,
      0,
    );
  const h = readHeader(packet);
  if (h.payloadSize > DNDCP_PAYLOAD_MAX)
    throw new DndCpDecodeError(
      'payloadSize',
      `${h.payloadSize}, over ${DNDCP_PAYLOAD_MAX}`,
      HeaderOffset.payloadSize,
    );
  if (h.payloadSize + DNDCP_HEADER_SIZE !== packet.length)
    throw new DndCpDecodeError(
      'payloadSize',
      `${h.payloadSize}, but ${packet.length - DNDCP_HEADER_SIZE} bytes follow the header`,
      HeaderOffset.payloadSize,
    );
  if (h.binarySize > DNDCP_BINARY_MAX)
    throw new DndCpDecodeError(
      'binarySize',
      `${h.binarySize}, over ${DNDCP_BINARY_MAX}`,
      HeaderOffset.binarySize,
    );
  if (h.payloadOffset > h.binarySize || h.payloadOffset + h.payloadSize > h.binarySize)
    throw new DndCpDecodeError(
      h.payloadSize > h.binarySize ? 'payloadSize' : 'payloadOffset',
      `payload [${h.payloadOffset}, ${h.payloadOffset + h.payloadSize}) lies outside the ${h.binarySize}-byte binary`,
      h.payloadSize > h.binarySize ? HeaderOffset.payloadSize : HeaderOffset.payloadOffset,
    );
  return { header: h, payload: Buffer.from(packet.subarray(DNDCP_HEADER_SIZE)) };
}

/**
 * How a valid packet is handled (§4.2): 'single' (the binary fits one packet: the payload must
 * start at 0), else the first ('new'), a middle ('continue') or the last ('end') slice.
 */
export type PacketKind = 'single' | 'new' | 'continue' | 'end';
export function packetKind(
  h: Pick<DndCpMessageHeader, 'binarySize' | 'payloadOffset' | 'payloadSize'>,
): PacketKind {
  if (h.binarySize <= DNDCP_PAYLOAD_MAX) return 'single';
  if (h.payloadOffset === 0) return 'new';
  if (h.payloadOffset + h.payloadSize === h.binarySize) return 'end';
  return 'continue';
}
