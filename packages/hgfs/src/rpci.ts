import { HGFS_RPC_COMMAND } from './constants.js';
import { HgfsTransportError } from './errors.js';

// HGFS over GuestRPC (docs/protocol/hgfs.md §7): the guest sends the RPCI 'f ' + request packet,
// the host answers '1 ' + reply packet, or '0 ' + a reason when it has no HGFS server.

const command = new TextEncoder().encode(HGFS_RPC_COMMAND);
const latin1 = new TextDecoder('latin1');
const DIGIT_ONE = 0x31;
const SPACE = 0x20;
/** How much of a refusal is quoted in the error. */
const QUOTE_MAX = 200;

/** The RPCI message that carries a request packet: 'f ' then the packet. */
export function rpciRequest(packet: Uint8Array): Uint8Array {
  const out = new Uint8Array(command.length + packet.length);
  out.set(command);
  out.set(packet, command.length);
  return out;
}

/**
 * The HGFS reply packet inside an RPCI reply: '1 ' + packet gives the packet (a view, no copy).
 * Anything else (the host's '0 reason', an empty reply) is an HgfsTransportError quoting it.
 */
export function packetFromRpciReply(reply: Uint8Array): Uint8Array {
  if (reply.length >= 2 && reply[0] === DIGIT_ONE && reply[1] === SPACE) return reply.subarray(2);
  const text = latin1.decode(reply.subarray(0, QUOTE_MAX));
  const quoted = reply.length > QUOTE_MAX ? `${text}…` : text;
  throw new HgfsTransportError(
    reply.length === 0
      ? 'the host sent an empty RPCI reply'
      : `the host refused the HGFS request: ${JSON.stringify(quoted)}`,
  );
}
