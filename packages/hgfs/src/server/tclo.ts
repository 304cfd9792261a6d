/**
 * The guest server behind TCLO: the host sends `f` + ` ` + one HGFS request packet on the channel
 * of the guest app that registered `tools.capability.hgfs_server`, and the guest answers `OK ` +
 * the reply packet; `f` with no argument is answered `ERROR 1 argument required`, the text
 * vmtoolsd's hgfsServer plugin gives (docs/protocol/hgfs.md, "The guest's shares", TCLO).
 */
import type { HgfsServer } from './server.js';

/** The command word the host sends HGFS requests under (HGFS_SYNC_REQREP_CMD). */
export const HGFS_TCLO_COMMAND = 'f';

/** The text after `ERROR ` for `f` with no argument (services/plugins/hgfsServer/hgfsPlugin.c). */
export const HGFS_TCLO_NO_ARGUMENT = '1 argument required';

/** `f` with no argument: what a TCLO loop answers `ERROR ` + the message for. */
export class HgfsTcloArgumentError extends Error {
  override readonly name = 'HgfsTcloArgumentError';
  constructor() {
    super(HGFS_TCLO_NO_ARGUMENT);
  }
}

const OK = Buffer.from('OK ');
const ERROR = Buffer.from('ERROR ');

/**
 * The packet a TCLO message `f …` carries, or undefined for `f` alone. `message` is the whole
 * TCLO message; the argument is everything after `f`, its first byte (the space) skipped, as the
 * plugin does, so `f ` carries an empty packet, which the server drops.
 */
function packetOf(message: Uint8Array): Uint8Array | undefined {
  const args = message.subarray(HGFS_TCLO_COMMAND.length);
  return args.length === 0 ? undefined : args.subarray(1);
}

/**
 * The bytes after `OK ` for a TCLO `f` message: the server's reply packet, or nothing when the
 * server drops the packet. Throws HgfsTcloArgumentError for `f` alone. Fits a TCLO loop's handler,
 * which is given the whole message: `loop.register('f', (_, req) => hgfsTcloResult(server, req.raw))`.
 */
export function hgfsTcloResult(server: HgfsServer, message: Uint8Array): Uint8Array {
  const packet = packetOf(message);
  if (!packet) throw new HgfsTcloArgumentError();
  return server.handle(packet) ?? new Uint8Array(0);
}

/** The whole TCLO reply to a `f` message: `OK ` + reply packet, or `ERROR 1 argument required`. */
export function tcloHgfsReply(server: HgfsServer, message: Uint8Array): Buffer {
  const packet = packetOf(message);
  if (!packet) return Buffer.concat([ERROR, Buffer.from(HGFS_TCLO_NO_ARGUMENT)]);
  const reply = server.handle(packet);
  return reply ? Buffer.concat([OK, reply]) : Buffer.from(OK);
}
