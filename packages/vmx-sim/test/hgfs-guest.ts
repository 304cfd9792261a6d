/**
 * A test-only HGFS guest: builds requests with @vmw9/hgfs, sends them to a simulated host as the
 * RPCI `f ` command, and decodes the replies. (The server's own tests are @vmw9/hgfs's.)
 */
import {
  type CodecOp,
  type DecodedReply,
  decodeReply,
  encodeRequest,
  HGFS_LARGE_PACKET_MAX,
  type HgfsReply,
  type HgfsRequest,
  HgfsStatus,
  packetFromRpciReply,
  rpciRequest,
  statusName,
} from '@vmw9/hgfs';
import type { VmxHost } from '../src/index.js';

export type Send = (packet: Uint8Array) => Uint8Array;

/** Through the host's RPCI handler (`f ` + packet → `1 ` + reply), as GuestMsg delivers it. */
export const viaRpci =
  (host: VmxHost): Send =>
  (packet) =>
    packetFromRpciReply(host.rpci.handle(Buffer.from(rpciRequest(packet))));

export class Guest {
  private nextId = 1;
  sessionId: bigint | undefined;
  maxPacketSize = 0;

  constructor(
    private readonly send: Send,
    readonly framing: 'v4' | 'legacy' = 'v4',
  ) {}

  /** CREATE_SESSION_V4 (v4 framing only); returns the reply. */
  connect(maxPacketSize = HGFS_LARGE_PACKET_MAX): Extract<HgfsReply, { op: 41 }> {
    const r = this.call({ op: 41, maxPacketSize, flags: 0, capabilities: [] }, 0n);
    if (r.status !== HgfsStatus.SUCCESS) throw new Error(`CREATE_SESSION_V4: ${statusName(r.status)}`);
    this.sessionId = r.reply!.sessionId;
    this.maxPacketSize = r.reply!.maxPacketSize;
    return r.reply!;
  }

  /** One request; the decoded reply (status, and the body on success). */
  call<R extends HgfsRequest>(
    req: R,
    sessionId = this.sessionId,
  ): DecodedReply<Extract<HgfsReply, { op: R['op'] }>> {
    const requestId = this.nextId++;
    const packet =
      this.framing === 'v4'
        ? encodeRequest(req, { framing: 'v4', requestId, sessionId: sessionId ?? 0n })
        : encodeRequest(req, { framing: 'legacy', requestId });
    return decodeReply(this.send(packet), {
      framing: this.framing,
      requestId,
      op: req.op as CodecOp,
    }) as never;
  }

  /** One request that must succeed: its reply body. */
  ok<R extends HgfsRequest>(req: R): Extract<HgfsReply, { op: R['op'] }> {
    const r = this.call(req);
    if (r.status !== HgfsStatus.SUCCESS) throw new Error(`op ${req.op}: ${statusName(r.status)}`);
    return r.reply!;
  }

  /** The status name a request gets (for failures). */
  status(req: HgfsRequest): string {
    return statusName(this.call(req).status);
  }
}
