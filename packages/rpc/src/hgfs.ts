/**
 * HGFS over RPCI, the guest's side of shared folders (docs/protocol/hgfs.md): each request packet
 * goes as the RPCI `f ` command and comes back as `1 ` + the reply packet; a `0 …` answer is the
 * host refusing the command (no HGFS server, or a request it could not take), a typed error. The
 * packet size follows vmhgfs-fuse's rule: large packets unless `guestinfo.hgfs.packetSize.large`
 * says FALSE. The transport here is a pool of RPCI channels, so several requests are in flight.
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import {
  HGFS_LARGE_PACKET_MAX,
  HGFS_LEGACY_LARGE_PACKET_MAX,
  HGFS_RPC_COMMAND,
  HgfsClient,
  type HgfsSend,
  HgfsTransportError,
  rpciRequest,
} from '@vmw9/hgfs';
import { DEFAULT_POOL_CHANNELS, RpciPool } from './pool.js';
import type { TraceSink } from './trace.js';
import { guestinfoGet, type RpcSender } from './typed.js';

/** An HGFS sender over any RPCI sender: `f ` + packet out, the packet after `1 ` back. */
export function hgfsSender(rpc: RpcSender): HgfsSend {
  return async (packet) => {
    let reply: Awaited<ReturnType<RpcSender['send']>>;
    try {
      reply = await rpc.send(rpciRequest(packet));
    } catch (e) {
      throw new HgfsTransportError(`the RPCI request failed: ${(e as Error).message}`, { cause: e });
    }
    if (!reply.ok)
      throw new HgfsTransportError(
        `the host refused the HGFS request: ${JSON.stringify(reply.text.slice(0, 200))}`,
      );
    return reply.reply;
  };
}

/**
 * The largest HGFS packet to use with this host: HGFS_LARGE_PACKET_MAX unless the host's
 * `guestinfo.hgfs.packetSize.large` is FALSE (any case); absent or anything else means large, as
 * RpcVMX_ConfigGetBool(TRUE, …) reads it for vmhgfs-fuse (docs/protocol/hgfs.md).
 */
export async function hgfsPacketSize(rpc: RpcSender): Promise<number> {
  const v = await guestinfoGet(rpc, 'guestinfo.hgfs.packetSize.large');
  return v !== null && v.toLowerCase() === 'false' ? HGFS_LEGACY_LARGE_PACKET_MAX : HGFS_LARGE_PACKET_MAX;
}

/**
 * Entries one directory listing may have: each costs the guest a few hundred bytes until the
 * listing is answered, so a host (hostile or with a huge directory) cannot take the agent past
 * its memory bound (docs/man/vmware.4, BOUNDS). More is an error for that listing.
 */
export const HGFS_MAX_DIR_ENTRIES = 131072;

export interface HgfsTransportOptions {
  /** RPCI channels in flight at most (default 4). */
  channels?: number;
  /** Where each GuestRPC message on the pool's channels is recorded. */
  trace?: TraceSink;
}

/**
 * The HGFS client of a guest: a pool of RPCI channels able to carry large packets, and an
 * HgfsClient over it whose packet size is asked of the host before its first request.
 */
export class HgfsTransport {
  readonly pool: RpciPool;
  readonly client: HgfsClient;

  constructor(
    port: BackdoorPort,
    /** The RPCI sender the packet-size question goes on (the agent's own channel). */
    rpc: RpcSender,
    opts: HgfsTransportOptions = {},
  ) {
    this.pool = RpciPool.overPort(port, {
      channels: opts.channels ?? DEFAULT_POOL_CHANNELS,
      // A large packet is over the 64 KiB a host takes of other messages (docs/protocol/hgfs.md).
      maxSend: HGFS_RPC_COMMAND.length + HGFS_LARGE_PACKET_MAX,
      ...(opts.trace ? { trace: opts.trace } : {}),
    });
    this.client = new HgfsClient({
      send: hgfsSender(this.pool),
      maxPacketSize: () => hgfsPacketSize(rpc),
      maxDirEntries: HGFS_MAX_DIR_ENTRIES,
    });
  }

  /** The host forgot the session (a TCLO reset): the next request makes a new one. */
  forgetSession(): void {
    this.client.forgetSession();
  }

  /** Ends the session (best effort) and closes every channel. */
  async close(): Promise<void> {
    await this.client.destroySession().catch(() => undefined);
    await this.pool.close();
  }
}
