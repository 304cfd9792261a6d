// One end of one channel (copy/paste or drag-and-drop) of the version 4 transport: splits big
// binaries into packets and asks for / serves the next slice with REQUEST_NEXT, reassembles, and
// answers bad packets as vmtoolsd does (docs/protocol/dndcp.md §4). Used by both sides: the guest
// sends over RPCI and receives from TCLO, the host the other way round.

import { Cmd, cmdName, DNDCP_BINARY_MAX, DNDCP_PAYLOAD_MAX, MsgSrc, MsgType, Status } from './constants.js';
import { DndCpDecodeError, DndCpEncodeError, DndCpLimitError } from './errors.js';
import type { DndCpMessage, DndCpReceivedMessage } from './message.js';
import { type DndCpMessageHeader, decodePacket, encodePacket, packetKind } from './packet.js';
import type { DndCpChannel } from './transport.js';

export interface DndCpEndpointOptions {
  /** Sends one packet (header + payload, without the "copypaste.transport " word). */
  send(packet: Buffer): Promise<void> | void;
  /**
   * 'guest': type/src as vmtoolsd writes them (type 3, src 2 for cp / 1 for dnd); 'host': as the
   * host build of the same code writes them (type 1, src 2 / 1). §3.1.1.
   */
  role: 'guest' | 'host';
  channel: DndCpChannel;
  /** Largest binary accepted and sent (default and at most DNDCP_BINARY_MAX). */
  maxBinary?: number;
}

export type ReceiveResult =
  /** A complete message (REQUEST_NEXT and slices never surface). `header` is its first packet's. */
  | { kind: 'message'; message: DndCpReceivedMessage; header: DndCpMessageHeader }
  /** A slice of a big message was buffered and REQUEST_NEXT already sent. */
  | { kind: 'partial'; cmd: number; sessionId: number; received: number; total: number }
  /** A REQUEST_NEXT this endpoint served (the next slice is sent). */
  | { kind: 'internal' }
  /**
   * A bad packet. REPLY {p1 = 0, status = INVALID_PACKET} was sent back, as vmtoolsd does, except
   * for a REQUEST_NEXT with nothing to send (then nothing is sent). Buffers are unchanged.
   */
  | { kind: 'invalid'; error: DndCpDecodeError };

export interface DndCpEndpointStats {
  packetsIn: number;
  packetsOut: number;
  messagesIn: number;
  messagesOut: number;
  invalid: number;
  requestNextIn: number;
  requestNextOut: number;
}

interface Outgoing {
  cmd: number;
  sessionId: number;
  status: number;
  params: [number, number, number, number, number, number];
  binary: Buffer;
  sent: number;
}

interface Incoming {
  header: DndCpMessageHeader;
  binary: Buffer;
  received: number;
}

export class DndCpEndpoint {
  readonly stats: DndCpEndpointStats = {
    packetsIn: 0,
    packetsOut: 0,
    messagesIn: 0,
    messagesOut: 0,
    invalid: 0,
    requestNextIn: 0,
    requestNextOut: 0,
  };
  readonly role: 'guest' | 'host';
  readonly channel: DndCpChannel;
  readonly maxBinary: number;
  readonly #send: (packet: Buffer) => Promise<void> | void;
  readonly #type: number;
  readonly #src: number;
  /** The one big message being sent; a new big one replaces it (§4.3). */
  #out: Outgoing | undefined;
  /** The one big message being received (§4.3). */
  #in: Incoming | undefined;

  constructor(opts: DndCpEndpointOptions) {
    const max = opts.maxBinary ?? DNDCP_BINARY_MAX;
    if (!Number.isInteger(max) || max < 0 || max > DNDCP_BINARY_MAX)
      throw new RangeError(`maxBinary must be an integer in [0, ${DNDCP_BINARY_MAX}], not ${max}`);
    this.role = opts.role;
    this.channel = opts.channel;
    this.maxBinary = max;
    this.#send = opts.send;
    // §3.1.1: the guest build passes type and source to the shared code the wrong way round.
    this.#type = opts.role === 'guest' ? MsgSrc.GUEST : MsgSrc.HOST;
    this.#src = opts.channel === 'cp' ? MsgType.CP : MsgType.DND;
  }

  /** What is in flight: the big message being received and the one being sent, if any. */
  pending(): {
    in?: { cmd: number; sessionId: number; received: number; total: number };
    out?: { cmd: number; sessionId: number; sent: number; total: number };
  } {
    const r: ReturnType<DndCpEndpoint['pending']> = {};
    if (this.#in)
      r.in = {
        cmd: this.#in.header.cmd,
        sessionId: this.#in.header.sessionId,
        received: this.#in.received,
        total: this.#in.binary.length,
      };
    if (this.#out)
      r.out = {
        cmd: this.#out.cmd,
        sessionId: this.#out.sessionId,
        sent: this.#out.sent,
        total: this.#out.binary.length,
      };
    return r;
  }

  /** Drops the partial incoming and the outgoing big message. */
  reset(): void {
    this.#in = undefined;
    this.#out = undefined;
  }

  /**
   * Sends a message: one packet, or, for a binary over 65380 bytes, its first slice, keeping the
   * rest for the peer's REQUEST_NEXT (§4.3; a new big message replaces an unfinished one).
   * Throws DndCpLimitError over maxBinary, DndCpEncodeError for numbers out of range, and
   * whatever `send` throws (then the big message is dropped, as vmtoolsd does).
   */
  async sendMessage(m: DndCpMessage): Promise<void> {
    const binary = m.binary
      ? Buffer.from(m.binary.buffer, m.binary.byteOffset, m.binary.length)
      : Buffer.alloc(0);
    if (binary.length > this.maxBinary)
      throw new DndCpLimitError(
        `${cmdName(m.cmd)} binary`,
        binary.length,
        this.maxBinary,
        this.role === 'guest' ? 'host' : 'guest',
      );
    const given = m.params ?? [];
    if (given.length > 6) throw new DndCpEncodeError('params', `${given.length} params; a header has 6`);
    const params: Outgoing['params'] = [0, 0, 0, 0, 0, 0];
    given.forEach((p, i) => {
      params[i] = p;
    });
    const msg: Outgoing = {
      cmd: m.cmd,
      sessionId: m.sessionId,
      status: m.status ?? Status.SUCCESS,
      params,
      binary,
      sent: 0,
    };
    if (binary.length <= DNDCP_PAYLOAD_MAX) {
      await this.#sendSlice(msg);
    } else {
      // Encode first so that a bad header leaves the old big message alone.
      const first = this.#slice(msg);
      // State moves before the await: the peer's REQUEST_NEXT may arrive before `send` resolves.
      msg.sent = first.end;
      this.#out = msg;
      try {
        await this.#emit(first.packet);
      } catch (e) {
        if (this.#out === msg) this.#out = undefined;
        throw e;
      }
    }
    this.stats.messagesOut++;
  }

  /**
   * Handles one packet as received (without the transport word). Resolves to what it was; rejects
   * only with the error of `send` (a REQUEST_NEXT, a slice or a REPLY could not be sent).
   */
  async receive(packet: Uint8Array): Promise<ReceiveResult> {
    this.stats.packetsIn++;
    let h: DndCpMessageHeader;
    let payload: Buffer;
    try {
      ({ header: h, payload } = decodePacket(packet));
    } catch (e) {
      if (e instanceof DndCpDecodeError) return this.#invalid(e, true);
      throw e;
    }
    if (h.binarySize > this.maxBinary)
      return this.#invalid(
        new DndCpDecodeError(
          'binarySize',
          `${h.binarySize} bytes, over this endpoint's limit of ${this.maxBinary}`,
          44,
        ),
        true,
      );
    const kind = packetKind(h);
    if (kind === 'single') {
      if (h.payloadOffset !== 0)
        return this.#invalid(
          new DndCpDecodeError('payloadOffset', `${h.payloadOffset} in a single-packet message`, 48),
          true,
        );
      // vmtoolsd would take the missing tail from uninitialised memory; we refuse it (§4.2).
      if (h.payloadSize !== h.binarySize)
        return this.#invalid(
          new DndCpDecodeError(
            'payloadSize',
            `${h.payloadSize} of a ${h.binarySize}-byte single-packet binary`,
            52,
          ),
          true,
        );
      return this.#complete(h, payload);
    }

    const cur = this.#in;
    if (cur && cur.header.sessionId === h.sessionId) {
      if (h.binarySize !== cur.binary.length)
        return this.#invalid(
          new DndCpDecodeError(
            'binarySize',
            `${h.binarySize}, but the message being received has ${cur.binary.length}`,
            44,
          ),
          true,
        );
      if (h.payloadOffset !== cur.received)
        return this.#invalid(
          new DndCpDecodeError(
            'payloadOffset',
            `${h.payloadOffset}, but ${cur.received} bytes were received so far`,
            48,
          ),
          true,
        );
      payload.copy(cur.binary, cur.received);
      cur.received += payload.length;
    } else {
      // Only a first slice may start a message; a first slice of another session replaces the
      // message being received (§4.3).
      if (kind !== 'new')
        return this.#invalid(
          new DndCpDecodeError(
            'payloadOffset',
            cur
              ? `${h.payloadOffset} in session ${h.sessionId}, but session ${cur.header.sessionId} is being received`
              : `${h.payloadOffset}, but no message is being received`,
            48,
          ),
          true,
        );
      const binary = Buffer.alloc(h.binarySize);
      payload.copy(binary, 0);
      this.#in = { header: h, binary, received: payload.length };
    }

    const inc = this.#in as Incoming;
    if (kind !== 'end') {
      try {
        await this.#emit(
          encodePacket(
            {
              cmd: Cmd.REQUEST_NEXT,
              type: this.#type,
              src: this.#src,
              sessionId: inc.header.sessionId,
              status: Status.SUCCESS,
              params: [inc.header.cmd, inc.binary.length, inc.received, 0, 0, 0],
              binarySize: 0,
              payloadOffset: 0,
            },
            Buffer.alloc(0),
          ),
        );
      } catch (e) {
        // As vmtoolsd: without the request the rest never comes.
        if (this.#in === inc) this.#in = undefined;
        throw e;
      }
      this.stats.requestNextOut++;
      return {
        kind: 'partial',
        cmd: inc.header.cmd,
        sessionId: inc.header.sessionId,
        received: inc.received,
        total: inc.binary.length,
      };
    }
    this.#in = undefined;
    return this.#complete(inc.header, inc.binary);
  }

  async #complete(h: DndCpMessageHeader, binary: Buffer): Promise<ReceiveResult> {
    if (h.cmd === Cmd.REQUEST_NEXT) {
      this.stats.requestNextIn++;
      const out = this.#out;
      if (!out)
        return this.#invalid(
          new DndCpDecodeError('cmd', 'REQUEST_NEXT, but no big message is being sent', 0),
          false,
        );
      // vmtoolsd serves the next slice whatever the request says (§4.3); the session id is the
      // one thing we check, so a stray request cannot pull another session's data.
      if (h.sessionId !== out.sessionId)
        return this.#invalid(
          new DndCpDecodeError(
            'sessionId',
            `REQUEST_NEXT for session ${h.sessionId}, but session ${out.sessionId} is being sent`,
            12,
          ),
          false,
        );
      const next = this.#slice(out);
      // As in sendMessage: advance first, the next REQUEST_NEXT may overtake `send`.
      out.sent = next.end;
      if (out.sent === out.binary.length) this.#out = undefined;
      try {
        await this.#emit(next.packet);
      } catch (e) {
        if (this.#out === out) this.#out = undefined;
        throw e;
      }
      return { kind: 'internal' };
    }
    this.stats.messagesIn++;
    return {
      kind: 'message',
      header: h,
      message: { cmd: h.cmd, sessionId: h.sessionId, status: h.status, params: [...h.params], binary },
    };
  }

  async #invalid(error: DndCpDecodeError, reply: boolean): Promise<ReceiveResult> {
    this.stats.invalid++;
    if (reply)
      await this.#emit(
        encodePacket(
          {
            cmd: Cmd.REPLY,
            type: this.#type,
            src: this.#src,
            sessionId: 0,
            status: Status.INVALID_PACKET,
            params: [Cmd.INVALID, 0, 0, 0, 0, 0],
            binarySize: 0,
            payloadOffset: 0,
          },
          Buffer.alloc(0),
        ),
      );
    return { kind: 'invalid', error };
  }

  /** The packet of `m`'s next slice (from m.sent), and where the slice ends. */
  #slice(m: Outgoing): { packet: Buffer; end: number } {
    const end = Math.min(m.binary.length, m.sent + DNDCP_PAYLOAD_MAX);
    const packet = encodePacket(
      {
        cmd: m.cmd,
        type: this.#type,
        src: this.#src,
        sessionId: m.sessionId,
        status: m.status,
        params: m.params,
        binarySize: m.binary.length,
        payloadOffset: m.sent,
      },
      m.binary.subarray(m.sent, end),
    );
    return { packet, end };
  }

  async #sendSlice(m: Outgoing): Promise<void> {
    await this.#emit(this.#slice(m).packet);
  }

  async #emit(packet: Buffer): Promise<void> {
    await this.#send(packet);
    this.stats.packetsOut++;
  }
}
