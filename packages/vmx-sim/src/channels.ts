/**
 * GuestMsg channels (BDOOR_CMD_MESSAGE = 30), the host side of open-vm-tools lib/message/message.c
 * and Linux vmwgfx_msg.c (docs/protocol/backdoor.md §7–§13).
 *
 * Per channel: id, cookies, protocol; a send side (the message the guest is sending: expected size
 * and bytes so far) and a receive side (the message waiting for the guest: an RPCI reply or a TCLO
 * command, and how far the guest has read it). A message reaches the guest "delivered" only on
 * RECVSTATUS(1), so after a checkpoint the guest can restart from RECVSIZE and get it again; a
 * partly sent guest message is discarded on a checkpoint and only a complete one is executed, so
 * no RPC is lost or applied twice.
 */
import { randomInt } from 'node:crypto';
import { PROTOCOL_RPCI, PROTOCOL_TCLO } from '@vmw9/backdoor';

export type ProtocolKind = 'RPCI' | 'TCLO' | 'other';

export interface Channel {
  id: number;
  protocol: number;
  kind: ProtocolKind;
  /** Opened with GUESTMSG_FLAG_COOKIE: every later call must carry the cookies. */
  cookie: boolean;
  cookieHigh: number;
  cookieLow: number;
  /** The guest message being received: expected length and the bytes so far. */
  sending?: { expected: number; buf: Buffer; got: number };
  /** The message waiting for the guest, and its read position once RECVSIZE announced it. */
  outgoing?: { data: Buffer; tclo?: boolean };
  readPos?: number;
  lastActivity: number;
  /** Calls made on this channel. */
  calls: number;
}

export class ChannelTable {
  private readonly byId = new Map<number, Channel>();

  constructor(
    public limit: number,
    /** A channel idle this long may be recycled when the table is full (a guest died without CLOSE). */
    public idleRecycleMs: number,
  ) {}

  open(protocol: number, cookie: boolean, onRecycle: (c: Channel) => void): Channel | undefined {
    if (this.byId.size >= this.limit) {
      const now = Date.now();
      let oldest: Channel | undefined;
      for (const c of this.byId.values()) if (!oldest || c.lastActivity < oldest.lastActivity) oldest = c;
      if (!oldest || now - oldest.lastActivity < this.idleRecycleMs) return undefined;
      this.byId.delete(oldest.id);
      onRecycle(oldest);
    }
    let id = 0;
    while (this.byId.has(id)) id++;
    const kind: ProtocolKind =
      protocol === PROTOCOL_RPCI ? 'RPCI' : protocol === PROTOCOL_TCLO ? 'TCLO' : 'other';
    const c: Channel = {
      id,
      protocol,
      kind,
      cookie,
      cookieHigh: cookie ? randomInt(0, 2 ** 32 - 1) >>> 0 : 0,
      cookieLow: cookie ? randomInt(0, 2 ** 32 - 1) >>> 0 : 0,
      lastActivity: Date.now(),
      calls: 0,
    };
    this.byId.set(id, c);
    return c;
  }

  /** The channel `id` if the cookies match (or it has none). */
  find(id: number, cookieHigh: number, cookieLow: number): Channel | undefined {
    const c = this.byId.get(id);
    if (!c) return undefined;
    if (c.cookie && (c.cookieHigh !== cookieHigh >>> 0 || c.cookieLow !== cookieLow >>> 0)) return undefined;
    return c;
  }

  close(id: number): Channel | undefined {
    const c = this.byId.get(id);
    this.byId.delete(id);
    return c;
  }

  all(): Channel[] {
    return [...this.byId.values()];
  }

  get size(): number {
    return this.byId.size;
  }
}
