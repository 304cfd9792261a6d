/**
 * The host's copy/paste controller, version 4 (docs/protocol/dndcp.md, "Host side"): the host is
 * the controller. It answers the guest's PING, owns the session ids, pushes the host clipboard
 * into the guest (CP_RECV_CLIPBOARD, as a host does when the user enters the VM window) and asks
 * for the guest's (CP_REQUEST_CLIPBOARD, when the user leaves it). Packets leave as TCLO
 * `copypaste.transport …` to the `toolbox-dnd` app and arrive as RPCI of the same word; the
 * fragmentation and REQUEST_NEXT both ways are @vmw9/dndcp's DndCpEndpoint.
 */
import { EventEmitter } from 'node:events';
import {
  assertClipboardFits,
  Cmd,
  CP_CAPS,
  type CpClipboard,
  cmdName,
  DNDCP_BINARY_MAX,
  DNDCP_VERSION,
  DndCpEndpoint,
  type DndCpReceivedMessage,
  decodeClipboard,
  encodeClipboard,
  encodeTransport,
} from '@vmw9/dndcp';
import type { ClipboardMover, HostClipboard } from './clipboard.js';

/** What the guest said in its PING, and what the host accepted. */
export interface CpNegotiation {
  /** The guest's major version (p1); 4 is the only one this host speaks. */
  version: number;
  minor: number;
  /** The capabilities the guest offered (p3). */
  guestCaps: number;
  /** What the host answered in PING_REPLY: its capabilities and the guest's. */
  caps: number;
  /** Host clock. */
  at: number;
}

/** The guest's answer to one REQUEST_CLIPBOARD. */
export interface CpGuestAnswer {
  sessionId: number;
  /** False: the guest's clipboard has not changed since it was last asked (the host's stays). */
  changed: boolean;
  clipboard: CpClipboard;
  /** The isActive the guest echoed (p4). */
  isActive: number;
}

export interface CopyPasteHostOptions {
  clipboard: HostClipboard;
  /** Queues TCLO bytes for the `toolbox-dnd` app. */
  sendTclo(bytes: Buffer): void;
  now(): number;
  /** The capabilities this host accepts (default CP_CAPS: every copy/paste format). */
  caps?: number;
  /** The largest binary taken from the guest (default DNDCP_BINARY_MAX). */
  maxBinary?: number;
  /** How long request() waits for the guest's answer (default 30 s). */
  requestTimeoutMs?: number;
}

/** A guest that has not negotiated version 4 cannot be pushed to or asked. */
export class NotNegotiated extends Error {
  override name = 'NotNegotiated';
  constructor() {
    super('no guest has negotiated copy/paste version 4');
  }
}

interface Outstanding {
  resolve(a: CpGuestAnswer): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

export class CopyPasteHost extends EventEmitter {
  readonly endpoint: DndCpEndpoint;
  /** Set by the guest's PING; forgotten when the toolbox-dnd channel closes or is reset. */
  negotiated: CpNegotiation | undefined;
  /** What happened on this channel so far (the endpoint's packet counters are `endpoint.stats`). */
  readonly stats = {
    /** PINGs answered. */
    pings: 0,
    /** RECV_CLIPBOARD sent (the host clipboard pushed). */
    pushes: 0,
    /** REQUEST_CLIPBOARD sent. */
    requests: 0,
    /** SEND_CLIPBOARD answers taken with a changed clipboard. */
    received: 0,
    /** SEND_CLIPBOARD answers saying "not changed". */
    notChanged: 0,
    /** REPLY messages: the guest refusing a packet of the host's (`lastReply` has the last). */
    replies: 0,
    /** Messages refused: no such request outstanding, an undecodable clipboard, a command a host does not take. */
    refused: 0,
    /** Packets the endpoint found invalid (it answered them REPLY INVALID_PACKET). */
    invalid: 0,
    /** Requests the guest never answered in time. */
    timeouts: 0,
    /** Negotiations forgotten (the toolbox-dnd channel closed or was reset, or copy/paste was switched off). */
    forgotten: 0,
    /** Packets the guest's TCLO layer refused (`ERROR …`: copy/paste off, an empty packet). */
    tcloErrors: 0,
  };
  readonly caps: number;
  /** The guest's last REPLY: the command it answers (p1; 0 for a packet it could not read) and the status. */
  lastReply: { cmd: number; status: number; sessionId: number } | undefined;
  private nextSession = 1;
  private readonly outstanding = new Map<number, Outstanding>();
  private chain: Promise<void> = Promise.resolve();
  private readonly requestTimeoutMs: number;

  constructor(private readonly o: CopyPasteHostOptions) {
    super();
    this.caps = o.caps ?? CP_CAPS;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 30_000;
    this.endpoint = new DndCpEndpoint({
      role: 'host',
      channel: 'cp',
      maxBinary: o.maxBinary ?? DNDCP_BINARY_MAX,
      send: (packet) => o.sendTclo(encodeTransport('cp', packet)),
    });
  }

  get active(): boolean {
    return this.negotiated?.version === DNDCP_VERSION;
  }

  /** One packet from the guest (the bytes after `copypaste.transport `); handled in arrival order. */
  receive(packet: Uint8Array): void {
    const copy = Buffer.from(packet);
    this.chain = this.chain.then(() => this.handle(copy)).catch((e: Error) => this.fail(e));
  }

  /** Resolves when every packet received so far has been handled (tests). */
  settled(): Promise<void> {
    return this.chain;
  }

  /**
   * Sets the host clipboard (as a copy on the host does) and pushes it to the guest now if one
   * has negotiated version 4, or when one does. Throws DndCpLimitError when the clipboard is
   * over the protocol's limits; the clipboard is then unchanged.
   */
  setClipboard(c: CpClipboard, by: ClipboardMover = 'api'): number | undefined {
    assertClipboardFits(c);
    const size = encodeClipboard(c).length;
    if (size > DNDCP_BINARY_MAX)
      throw new RangeError(`a clipboard of ${size} bytes is over the ${DNDCP_BINARY_MAX}-byte message limit`);
    this.o.clipboard.set(c.items, by);
    return this.active ? this.push() : undefined;
  }

  /**
   * The host clipboard holds something the host put there (the console, the API, or an earlier
   * push) that a guest negotiating now would be sent: each negotiation pushes it.
   */
  get pushPending(): boolean {
    const by = this.o.clipboard.lastMove?.by;
    return !this.o.clipboard.empty && (by === 'console' || by === 'api' || by === 'v4 host→guest');
  }

  /**
   * Pushes the host clipboard to the guest now (CP_RECV_CLIPBOARD, isActive 1), as a host does
   * when the user enters the VM window; returns the session id. Throws NotNegotiated.
   */
  push(): number {
    if (!this.active) throw new NotNegotiated();
    const sessionId = this.session();
    this.stats.pushes++;
    this.o.clipboard.noteMove('v4 host→guest', sessionId);
    // p1/p2 as the cpInfo of every copy/paste message (docs/protocol/dndcp.md §3.2); the guest reads only p4.
    this.endpoint
      .sendMessage({
        cmd: Cmd.CP_RECV_CLIPBOARD,
        sessionId,
        params: [DNDCP_VERSION, 0, 0, 1],
        binary: encodeClipboard(this.o.clipboard.toCpClipboard()),
      })
      .catch((e: Error) => this.fail(e));
    this.emit('pushed', sessionId);
    return sessionId;
  }

  /**
   * Asks the guest for its clipboard (CP_REQUEST_CLIPBOARD, p1 = 4, p2 = 0, isActive 0). Resolves
   * with its answer once complete (a changed one has then become the host clipboard); rejects with
   * NotNegotiated at once, or when the channel is forgotten or the guest does not answer in time.
   */
  request(timeoutMs = this.requestTimeoutMs): Promise<CpGuestAnswer> {
    if (!this.active) return Promise.reject(new NotNegotiated());
    return this.ask(timeoutMs).answer;
  }

  /** request() with the session id it used, known at once. Throws NotNegotiated. */
  ask(timeoutMs = this.requestTimeoutMs): { sessionId: number; answer: Promise<CpGuestAnswer> } {
    if (!this.active) throw new NotNegotiated();
    const sessionId = this.session();
    const answer = new Promise<CpGuestAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.outstanding.delete(sessionId);
        this.stats.timeouts++;
        reject(
          new Error(
            `the guest did not answer REQUEST_CLIPBOARD (session ${sessionId}) within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      timer.unref();
      this.outstanding.set(sessionId, { resolve, reject, timer });
    });
    this.stats.requests++;
    this.endpoint
      .sendMessage({ cmd: Cmd.CP_REQUEST_CLIPBOARD, sessionId, params: [DNDCP_VERSION, 0, 0, 0] })
      .catch((e: Error) => this.settle(sessionId, e));
    this.emit('requested', sessionId);
    return { sessionId, answer };
  }

  /** Sends one packet as it is (hostile-host tests; `clip raw HEX` on the console). */
  sendPacket(packet: Uint8Array): void {
    this.o.sendTclo(encodeTransport('cp', packet));
  }

  /** The guest's copy/paste is gone (its channel closed or was reset): negotiation, buffers and requests. */
  forget(why: string): void {
    if (this.negotiated) this.stats.forgotten++;
    this.negotiated = undefined;
    this.endpoint.reset();
    for (const id of [...this.outstanding.keys()]) this.settle(id, new Error(`copy/paste ${why}`));
  }

  /** The guest's TCLO reply to one of our packets. */
  tcloReply(reply: string): void {
    if (!reply.startsWith('ERROR')) return;
    this.stats.tcloErrors++;
    this.fail(new Error(`copy/paste: the guest refused a packet: ${reply}`));
  }

  private session(): number {
    const id = this.nextSession;
    // Non-zero and incrementing (docs/protocol/dndcp.md, "Host side"), wrapping within u32.
    this.nextSession = id >= 0xffffffff ? 1 : id + 1;
    return id;
  }

  private settle(sessionId: number, e: Error): void {
    const o = this.outstanding.get(sessionId);
    if (!o) return;
    this.outstanding.delete(sessionId);
    clearTimeout(o.timer);
    o.reject(e);
  }

  private fail(e: Error): void {
    // An 'error' event without a listener would throw: the host must outlive any guest.
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  private refuse(why: string): void {
    this.stats.refused++;
    this.fail(new Error(`copy/paste: ${why}; the host clipboard is unchanged`));
  }

  private async handle(packet: Buffer): Promise<void> {
    const r = await this.endpoint.receive(packet);
    if (r.kind === 'invalid') {
      this.stats.invalid++;
      this.fail(r.error);
      return;
    }
    if (r.kind !== 'message') return;
    const m = r.message;
    this.emit('message', m);
    switch (m.cmd) {
      case Cmd.PING:
        return this.ping(m);
      case Cmd.CP_SEND_CLIPBOARD:
        return this.answer(m);
      case Cmd.REPLY:
        this.stats.replies++;
        this.lastReply = { cmd: m.params[0] ?? 0, status: m.status, sessionId: m.sessionId };
        return;
      default:
        // REQUEST_FILES (a file paste, carried by HGFS: a later issue) and anything else:
        // recorded, nothing changes.
        this.refuse(`${cmdName(m.cmd)} (session ${m.sessionId}) is not handled by this host`);
    }
  }

  private async ping(m: DndCpReceivedMessage): Promise<void> {
    const [version = 0, minor = 0, guestCaps = 0] = m.params;
    const caps = (this.caps & guestCaps) >>> 0;
    await this.endpoint.sendMessage({ cmd: Cmd.PING_REPLY, sessionId: 0, params: [DNDCP_VERSION, 0, caps] });
    this.stats.pings++;
    this.negotiated = { version, minor, guestCaps, caps, at: this.o.now() };
    this.emit('negotiated', this.negotiated);
    // A guest whose copy/paste (re)starts holds nothing of the host's: vmusr pings again when it
    // re-registers 300 ms after a reset, dropping what an earlier push gave it (docs/protocol/dndcp.md,
    // "Host side"). So every negotiation is sent what the host put on its clipboard.
    if (this.active && this.pushPending) this.push();
  }

  private answer(m: DndCpReceivedMessage): void {
    const o = this.outstanding.get(m.sessionId);
    if (!o) {
      this.refuse(`SEND_CLIPBOARD for session ${m.sessionId}, which the host did not ask for`);
      return;
    }
    let clipboard: CpClipboard;
    try {
      clipboard = decodeClipboard(m.binary);
    } catch (e) {
      this.settle(m.sessionId, e as Error);
      this.refuse(`SEND_CLIPBOARD (session ${m.sessionId}): ${(e as Error).message}`);
      return;
    }
    this.outstanding.delete(m.sessionId);
    clearTimeout(o.timer);
    if (clipboard.changed) {
      this.o.clipboard.set(clipboard.items, 'v4 guest→host', m.sessionId);
      this.stats.received++;
    } else this.stats.notChanged++;
    const a: CpGuestAnswer = {
      sessionId: m.sessionId,
      changed: clipboard.changed,
      clipboard,
      isActive: m.params[3] ?? 0,
    };
    this.emit('answer', a);
    o.resolve(a);
  }
}
