// What the copy/paste and the drag-and-drop engines share (docs/protocol/dndcp.md §1, §2.1): the
// version query read with C's atoi, the PING that follows it at version 4, and the RPCI that
// carries one transport packet.

import { Cmd, DNDCP_VERSION } from './constants.js';
import type { DndCpEndpoint } from './endpoint.js';
import { DndCpRpcError } from './errors.js';
import { type DndCpChannel, encodeTransport, transportCommand } from './transport.js';

/** One RPCI: the whole request bytes out; `ok` is the host's "1"/"0", `reply` what follows it. */
export interface CopyPasteRpc {
  send(request: Uint8Array): Promise<{ ok: boolean; reply: Buffer }>;
}

/** C's atoi: leading blanks, an optional sign, digits; 0 when there are none. */
export function atoi(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1] as string, 10) : 0;
}

/**
 * Asks the host's version of one feature (`vmx.capability.copypaste_version` or
 * `vmx.capability.dnd_version`) and, at 4, sends PING {4, 0, caps} on its channel,
 * as vmusr does when the feature is switched on (§1). Returns the version: 0 when the query
 * failed or threw. Never throws: a failed query or PING goes to `onError`.
 */
export async function negotiate(o: {
  rpc: CopyPasteRpc;
  query: string;
  endpoint: DndCpEndpoint;
  caps: number;
  /** Called with the version before the PING goes out: the channel takes packets from then on. */
  onVersion: (version: number) => void;
  onError: (e: unknown) => void;
}): Promise<number> {
  let version = 0;
  try {
    const r = await o.rpc.send(Buffer.from(o.query, 'latin1'));
    version = r.ok ? atoi(r.reply.toString('latin1')) : 0;
  } catch (e) {
    o.onError(new DndCpRpcError(o.query, '', { cause: e }));
  }
  o.onVersion(version);
  if (version !== DNDCP_VERSION) return version;
  try {
    await o.endpoint.sendMessage({ cmd: Cmd.PING, sessionId: 0, params: [DNDCP_VERSION, 0, o.caps] });
  } catch (e) {
    o.onError(e);
  }
  return version;
}

/**
 * The endpoint's sender for one channel: `copypaste.transport ` or `dnd.transport ` + the packet
 * as one RPCI (§2.1). Rejects with DndCpRpcError when the host answers failure or the RPCI throws.
 */
export function transportSender(rpc: CopyPasteRpc, channel: DndCpChannel): (packet: Buffer) => Promise<void> {
  const command = transportCommand(channel);
  return async (packet) => {
    let r: { ok: boolean; reply: Buffer };
    try {
      r = await rpc.send(encodeTransport(channel, packet));
    } catch (e) {
      throw new DndCpRpcError(command, '', { cause: e });
    }
    if (!r.ok) throw new DndCpRpcError(command, r.reply.toString('utf8'));
  };
}
