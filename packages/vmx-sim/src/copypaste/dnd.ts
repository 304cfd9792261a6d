/**
 * The host's drag-and-drop channel, version 4, as far as this simulator goes: it answers the
 * guest's PING (docs/protocol/dndcp.md, "Host side") so that a guest such as vmusr finds a
 * version 4 host on both channels. The drag-and-drop controller itself (SRC_DRAG_BEGIN,
 * QUERY_EXITING, …) is a later issue; until then every other message is counted and left.
 */
import { Cmd, DND_CAPS, DNDCP_VERSION, DndCpEndpoint, encodeTransport } from '@vmw9/dndcp';

export interface DndNegotiation {
  version: number;
  guestCaps: number;
  /** What the host answered: DND_CAPS and the guest's. */
  caps: number;
  at: number;
}

export class DndHost {
  readonly endpoint: DndCpEndpoint;
  negotiated: DndNegotiation | undefined;
  readonly stats = {
    /** PINGs answered. */
    pings: 0,
    /** Other messages, left unanswered until there is a drag-and-drop controller. */
    unhandled: 0,
    /** Packets the endpoint found invalid. */
    invalid: 0,
  };
  private chain: Promise<void> = Promise.resolve();

  constructor(
    sendTclo: (bytes: Buffer) => void,
    private readonly now: () => number,
  ) {
    this.endpoint = new DndCpEndpoint({
      role: 'host',
      channel: 'dnd',
      send: (packet) => sendTclo(encodeTransport('dnd', packet)),
    });
  }

  /** One packet from the guest (the bytes after `dnd.transport `), handled in arrival order. */
  receive(packet: Uint8Array): void {
    const copy = Buffer.from(packet);
    this.chain = this.chain
      .then(() => this.handle(copy))
      .catch(() => {
        this.stats.invalid++;
      });
  }

  settled(): Promise<void> {
    return this.chain;
  }

  forget(): void {
    this.negotiated = undefined;
    this.endpoint.reset();
  }

  private async handle(packet: Buffer): Promise<void> {
    const r = await this.endpoint.receive(packet);
    if (r.kind === 'invalid') this.stats.invalid++;
    if (r.kind !== 'message') return;
    const m = r.message;
    if (m.cmd !== Cmd.PING) {
      this.stats.unhandled++;
      return;
    }
    const [version = 0, , guestCaps = 0] = m.params;
    const caps = (DND_CAPS & guestCaps) >>> 0;
    await this.endpoint.sendMessage({ cmd: Cmd.PING_REPLY, sessionId: 0, params: [DNDCP_VERSION, 0, caps] });
    this.stats.pings++;
    this.negotiated = { version, guestCaps, caps, at: this.now() };
  }
}
