/**
 * A copy/paste version 4 host for tests of the guest side without a simulator: @vmw9/dndcp's
 * endpoint in the host role, wired to a CopyPasteGuest as GuestRPC would wire them. The guest's
 * RPCIs reach `rpc.send` (the version query answered `1 4`, `copypaste.transport` packets taken);
 * the host's packets go to guest.handleTransport one at a time, in order, as TCLO delivers them
 * (a slice the guest asks for with REQUEST_NEXT is queued behind the packet being handled).
 */
import {
  Cmd,
  CopyPasteGuest,
  CP_CAPS,
  type CpClipboard,
  DndCpEndpoint,
  decodeClipboard,
  decodeTransport,
  encodeClipboard,
  HOST_CP_VERSION_QUERY,
} from '@vmw9/dndcp';

export interface FakeCpHostOptions {
  /** The answer to vmx.capability.copypaste_version (`1 4` by default); null: `0 Unknown command`. */
  version?: string | null;
  /** The PING_REPLY's capabilities (default CP_CAPS). */
  caps?: number;
}

/** A gate the host's RPCI handler waits at before taking a guest packet (an RPCI in flight). */
export interface RpciGate {
  /** Resolves when a guest packet is waiting at the gate. */
  reached: Promise<void>;
  /** Lets it through. */
  release(): void;
}

export class FakeCpHost {
  readonly guest: CopyPasteGuest;
  /** Every RPCI the guest sent, as text up to its first space (the command word). */
  readonly rpcis: string[] = [];
  /** The guest's SEND_CLIPBOARD answers, decoded, with their session ids. */
  readonly sent: Array<{ clipboard: CpClipboard; sessionId: number }> = [];
  /** REPLY messages the guest sent (status, p1). */
  readonly replies: Array<{ status: number; cmd: number }> = [];
  readonly endpoint: DndCpEndpoint;
  private queue: Promise<void> = Promise.resolve();
  private session = 0;
  private readonly waiting = new Map<number, (c: CpClipboard) => void>();
  private gate: { arrive(): void; open: Promise<void> } | undefined;

  constructor(private readonly opts: FakeCpHostOptions = {}) {
    this.endpoint = new DndCpEndpoint({ role: 'host', channel: 'cp', send: (p) => this.deliver(p) });
    this.guest = new CopyPasteGuest({
      rpc: { send: (request) => this.rpci(Buffer.from(request)) },
    });
  }

  /**
   * The host's packet to the guest, after those before it were handled (TCLO: one at a time), and
   * never before the send returned (the guest fetches it with its next poll).
   */
  deliver(packet: Uint8Array): Promise<void> {
    const p = Buffer.from(packet);
    this.queue = this.queue
      .then(() => new Promise((r) => setImmediate(r)))
      .then(() => this.guest.handleTransport(p).catch(() => undefined));
    return Promise.resolve();
  }

  /** Every packet delivered so far has been handled. */
  async idle(): Promise<void> {
    for (let q = this.queue; ; q = this.queue) {
      await q;
      if (q === this.queue) return;
    }
  }

  /** `Set_Option copypaste 1` as the guest's agent would act on it. */
  async enable(): Promise<number> {
    const v = await this.guest.enable();
    await this.idle();
    return v;
  }

  /** The host pushes its clipboard (RECV_CLIPBOARD), as when the user enters the VM. */
  async push(c: CpClipboard): Promise<number> {
    const sessionId = ++this.session;
    await this.endpoint.sendMessage({
      cmd: Cmd.CP_RECV_CLIPBOARD,
      sessionId,
      params: [4, 0, 0, 1],
      binary: encodeClipboard(c),
    });
    await this.idle();
    return sessionId;
  }

  /** The host asks for the guest's clipboard (REQUEST_CLIPBOARD) and gets its answer. */
  async request(): Promise<CpClipboard> {
    const sessionId = ++this.session;
    const answer = new Promise<CpClipboard>((resolve) => this.waiting.set(sessionId, resolve));
    await this.endpoint.sendMessage({ cmd: Cmd.CP_REQUEST_CLIPBOARD, sessionId, params: [4, 0, 0, 1] });
    await this.idle();
    return answer;
  }

  /** The next guest transport packet waits at a gate: the guest's RPCI stays in flight until release(). */
  holdNextPacket(): RpciGate {
    let arrive!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((r) => {
      arrive = r;
    });
    const open = new Promise<void>((r) => {
      release = r;
    });
    this.gate = { arrive, open };
    return { reached, release };
  }

  private async rpci(request: Buffer): Promise<{ ok: boolean; reply: Buffer }> {
    const text = request.toString('latin1');
    this.rpcis.push(text.split(' ')[0] ?? '');
    if (text === HOST_CP_VERSION_QUERY) {
      const v = this.opts.version === undefined ? '4' : this.opts.version;
      return v === null
        ? { ok: false, reply: Buffer.from('Unknown command') }
        : { ok: true, reply: Buffer.from(v) };
    }
    const t = decodeTransport(request);
    if (t?.channel !== 'cp') return { ok: false, reply: Buffer.from('Unknown command') };
    const gate = this.gate;
    if (gate) {
      this.gate = undefined;
      gate.arrive();
      await gate.open;
    }
    const r = await this.endpoint.receive(t.packet);
    if (r.kind === 'message') {
      const m = r.message;
      if (m.cmd === Cmd.PING)
        await this.endpoint.sendMessage({
          cmd: Cmd.PING_REPLY,
          sessionId: m.sessionId,
          params: [4, 0, this.opts.caps ?? CP_CAPS],
        });
      else if (m.cmd === Cmd.CP_SEND_CLIPBOARD) {
        const clipboard = decodeClipboard(m.binary);
        this.sent.push({ clipboard, sessionId: m.sessionId });
        this.waiting.get(m.sessionId)?.(clipboard);
        this.waiting.delete(m.sessionId);
      } else if (m.cmd === Cmd.REPLY) this.replies.push({ status: m.status, cmd: m.params[0] ?? 0 });
    }
    return { ok: true, reply: Buffer.alloc(0) };
  }
}
