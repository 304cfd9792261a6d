// The guest's copy/paste engine: what vmtoolsd's dndcp plugin does for copy/paste over version 4,
// without a display. The transport is injected: RPCIs go out through `rpc`, the host's TCLO
// packets come in through handleTransport (docs/protocol/dndcp.md §7).

import { EventEmitter } from 'node:events';
import {
  assertClipboardFits,
  type CpClipboard,
  decodeClipboard,
  encodeClipboard,
  NOT_CHANGED_CLIPBOARD,
} from './clipboard.js';
import {
  Cmd,
  CP_CAPS,
  CP_ITEM_MAX,
  DNDCP_VERSION,
  HOST_CP_VERSION_QUERY,
  Status,
  statusName,
} from './constants.js';
import { DndCpEndpoint, type DndCpEndpointStats } from './endpoint.js';
import { DndCpDecodeError, DndCpError } from './errors.js';
import type { DndCpReceivedMessage } from './message.js';
import { type CopyPasteRpc, negotiate, transportSender } from './negotiate.js';

export type { CopyPasteRpc } from './negotiate.js';

export interface CopyPasteGuestOptions {
  rpc: CopyPasteRpc;
  /** Capabilities offered in PING (default CP_CAPS, what vmusr offers on this channel). */
  caps?: number;
}

export interface CopyPasteGuestEvents {
  /** The host pushed its clipboard (a complete, valid RECV_CLIPBOARD). */
  'host-clipboard': [clipboard: CpClipboard, sessionId: number];
  /** REQUEST_CLIPBOARD was answered with this clipboard (the "not changed" one included). */
  sent: [clipboard: CpClipboard, sessionId: number];
  /** A bad packet, a failed RPCI, an undecodable clipboard: nothing changed. */
  error: [error: Error];
}

/** The engine's counters, and its channel's (packets, messages, REQUEST_NEXT both ways, invalid packets). */
export interface CopyPasteGuestStats extends DndCpEndpointStats {
  /** REQUEST_CLIPBOARD received. */
  requests: number;
  /** Answered with the guest's clipboard. */
  sent: number;
  /** Answered with the "not changed" clipboard. */
  notChanged: number;
  /** Host clipboards taken (RECV_CLIPBOARD). */
  received: number;
  /** Messages this engine has no use for (file-transfer completions, a PING, unknown commands). */
  ignored: number;
  /** 'error' events (also counted when nobody listens). */
  errors: number;
}

interface Held {
  clipboard: CpClipboard;
  /** Order of arrival: the larger is newer. */
  seq: number;
}

function copyClipboard(c: CpClipboard): CpClipboard {
  return { items: new Map([...c.items].map(([f, b]) => [f, Buffer.from(b)])), changed: c.changed };
}

export class CopyPasteGuest extends EventEmitter<CopyPasteGuestEvents> {
  readonly #rpc: CopyPasteRpc;
  readonly #caps: number;
  readonly #endpoint: DndCpEndpoint;
  #version = 0;
  #enabled = false;
  #hostCaps: number | undefined;
  #seq = 0;
  #host: (Held & { sessionId: number }) | undefined;
  #guest: (Held & { sent: boolean }) | undefined;
  /** The copy whose SEND_CLIPBOARD went out in slices, and its session: taken only once all went. */
  #sending: { copy: Held & { sent: boolean }; sessionId: number } | undefined;
  readonly #stats = { requests: 0, sent: 0, notChanged: 0, received: 0, ignored: 0, errors: 0 };

  constructor(o: CopyPasteGuestOptions) {
    super();
    this.#rpc = o.rpc;
    this.#caps = o.caps ?? CP_CAPS;
    this.#endpoint = new DndCpEndpoint({ role: 'guest', channel: 'cp', send: transportSender(o.rpc, 'cp') });
  }

  /** The host's copy/paste version from the last enable(): 4, 3 (not spoken here), or 0. */
  get version(): number {
    return this.#version;
  }

  /** The capabilities of the host's PING_REPLY; undefined until one came (then vmusr allows all). */
  get hostCaps(): number | undefined {
    return this.#hostCaps;
  }

  /** Version 4 negotiated and copy/paste enabled: handleTransport takes packets. */
  get active(): boolean {
    return this.#enabled && this.#version === DNDCP_VERSION;
  }

  get stats(): CopyPasteGuestStats {
    return { ...this.#stats, ...this.#endpoint.stats };
  }

  /**
   * What the host's `Set_Option copypaste 1` starts (§7): asks the host's version with
   * vmx.capability.copypaste_version and, on 4, sends PING with the capabilities. Returns the
   * version: 4; 3 for a version 3 host (not spoken here: the caller falls back); 0 when the host
   * has no answer (vmtoolsd would take 1, the legacy backdoor clipboard). Never throws; a failed
   * PING is an 'error' event and leaves the engine active.
   */
  async enable(): Promise<number> {
    this.#enabled = true;
    this.#hostCaps = undefined;
    this.#dropOutgoing();
    return negotiate({
      rpc: this.#rpc,
      query: HOST_CP_VERSION_QUERY,
      endpoint: this.#endpoint,
      caps: this.#caps,
      onVersion: (v) => {
        this.#version = v;
      },
      onError: (e) => this.#error(e),
    });
  }

  /** `Set_Option copypaste 0`: packets are no longer taken; what was held stays for current(). */
  disable(): void {
    this.#enabled = false;
    this.#dropOutgoing();
  }

  /**
   * Takes the bytes after "copypaste.transport " of one TCLO. Throws Error('invalid arg size')
   * when they are empty (vmtoolsd's answer); everything else that goes wrong is an 'error' event.
   */
  async handleTransport(packet: Uint8Array): Promise<void> {
    if (packet.length === 0) throw new Error('invalid arg size');
    if (!this.active) {
      this.#error(new DndCpError('copy/paste is not enabled at version 4: packet ignored'));
      return;
    }
    try {
      const r = await this.#endpoint.receive(packet);
      if (r.kind === 'invalid') this.#error(r.error);
      else if (r.kind === 'message') await this.#dispatch(r.message);
    } catch (e) {
      this.#error(e);
    }
  }

  /**
   * The guest copies: this clipboard is what the host gets on its next REQUEST_CLIPBOARD (the
   * guest never pushes, §6.1). Throws DndCpLimitError when an item or the total is not below
   * CP_ITEM_MAX (the host would refuse or cut it).
   */
  setGuestClipboard(c: CpClipboard): void {
    assertClipboardFits(c, CP_ITEM_MAX, 'host');
    this.#guest = { clipboard: copyClipboard({ ...c, changed: true }), seq: ++this.#seq, sent: false };
  }

  /** What a paste in the guest gets now: the newer of the host's last push and the guest's last copy. */
  current(): { clipboard: CpClipboard; from: 'host' | 'guest' } | undefined {
    const h = this.#host;
    const g = this.#guest;
    if (h && (!g || h.seq > g.seq)) return { clipboard: copyClipboard(h.clipboard), from: 'host' };
    if (g) return { clipboard: copyClipboard(g.clipboard), from: 'guest' };
    return undefined;
  }

  /**
   * The guest's last copy while the host has not taken it yet and no push of the host's is newer:
   * what a further copy of another format adds to (docs/protocol/tree.md §4a). A copy whose answer
   * is still being sent counts as pending until that send completes.
   */
  pendingGuestClipboard(): CpClipboard | undefined {
    const g = this.#guest;
    if (!g || g.sent || (this.#host && this.#host.seq > g.seq)) return undefined;
    return copyClipboard(g.clipboard);
  }

  async #dispatch(m: DndCpReceivedMessage): Promise<void> {
    switch (m.cmd) {
      case Cmd.PING_REPLY:
        this.#hostCaps = m.params[2] ?? 0;
        return;
      case Cmd.CP_REQUEST_CLIPBOARD:
        return this.#answerRequest(m);
      case Cmd.CP_RECV_CLIPBOARD: {
        if (m.binary.length === 0) {
          this.#error(new DndCpDecodeError('binary', 'RECV_CLIPBOARD without a clipboard'));
          return;
        }
        const clipboard = decodeClipboard(m.binary); // throws: an 'error' event, state unchanged
        this.#host = { clipboard, seq: ++this.#seq, sessionId: m.sessionId };
        this.#stats.received++;
        this.emit('host-clipboard', copyClipboard(clipboard), m.sessionId);
        return;
      }
      case Cmd.REPLY:
        if (m.status !== Status.SUCCESS)
          this.#error(
            new DndCpError(
              `the host answered ${statusName(m.status)} to a packet (reply to cmd ${m.params[0]})`,
            ),
          );
        else this.#stats.ignored++;
        return;
      default:
        this.#stats.ignored++;
    }
  }

  async #answerRequest(m: DndCpReceivedMessage): Promise<void> {
    this.#stats.requests++;
    // This answer replaces a big one still going out (§4.3): that copy was not taken.
    this.#unfinished();
    // vmtoolsd reads isActive as "equals 1" and echoes that truth value (§7).
    const isActive = m.params[3] === 1 ? 1 : 0;
    const g = this.#guest;
    const fresh = g && !g.sent && (!this.#host || g.seq > this.#host.seq) ? g : undefined;
    const binary = fresh ? encodeClipboard(fresh.clipboard) : NOT_CHANGED_CLIPBOARD;
    await this.#endpoint.sendMessage({
      cmd: Cmd.CP_SEND_CLIPBOARD,
      sessionId: m.sessionId,
      params: [DNDCP_VERSION, 0, 0, isActive],
      binary,
    });
    if (fresh) {
      fresh.sent = true;
      const out = this.#endpoint.pending().out;
      this.#sending =
        out && out.cmd === Cmd.CP_SEND_CLIPBOARD && out.sessionId === m.sessionId
          ? { copy: fresh, sessionId: m.sessionId }
          : undefined;
      this.#stats.sent++;
    } else {
      this.#stats.notChanged++;
    }
    this.emit(
      'sent',
      fresh ? copyClipboard(fresh.clipboard) : decodeClipboard(NOT_CHANGED_CLIPBOARD),
      m.sessionId,
    );
  }

  /**
   * A copy counts as taken once its first slice went out; when its last slice never did (the host
   * reset, switched copy/paste off, or asked again first), it is sent again at the next request
   * rather than answered "not changed" — the host never got it.
   */
  #unfinished(): void {
    const s = this.#sending;
    this.#sending = undefined;
    if (!s) return;
    const out = this.#endpoint.pending().out;
    if (out && out.cmd === Cmd.CP_SEND_CLIPBOARD && out.sessionId === s.sessionId) s.copy.sent = false;
  }

  /** Drops the channel's buffers (reset, switch-off), keeping an unfinished copy unsent. */
  #dropOutgoing(): void {
    this.#unfinished();
    this.#endpoint.reset();
  }

  #error(e: unknown): void {
    this.#stats.errors++;
    const err = e instanceof Error ? e : new Error(String(e));
    // An 'error' nobody listens to would throw out of EventEmitter: it is counted only.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}
