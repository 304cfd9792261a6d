// The GuestRPC framing of the transport (docs/protocol/dndcp.md §2): the command word, one
// space, the raw packet; no NUL at the end, in both directions.

import { CP_TRANSPORT, DND_TRANSPORT } from './constants.js';

export type DndCpChannel = 'cp' | 'dnd';

/** 'copypaste.transport' or 'dnd.transport'. */
export function transportCommand(channel: DndCpChannel): string {
  return channel === 'cp' ? CP_TRANSPORT : DND_TRANSPORT;
}

/** The RPCI (guest→host) or TCLO (host→guest) bytes that carry `packet` on `channel`. */
export function encodeTransport(channel: DndCpChannel, packet: Uint8Array): Buffer {
  const word = Buffer.from(`${transportCommand(channel)} `, 'latin1');
  return Buffer.concat([word, packet]);
}

/**
 * Splits RPCI/TCLO bytes into channel and packet when they start with one of the two transport
 * words and a space; undefined otherwise. The packet may be empty (vmtoolsd answers a TCLO with
 * nothing after the space `ERROR invalid arg size`).
 */
export function decodeTransport(bytes: Uint8Array): { channel: DndCpChannel; packet: Buffer } | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  for (const channel of ['cp', 'dnd'] as const) {
    const word = `${transportCommand(channel)} `;
    if (b.length >= word.length && b.toString('latin1', 0, word.length) === word)
      return { channel, packet: Buffer.from(b.subarray(word.length)) };
  }
  return undefined;
}
