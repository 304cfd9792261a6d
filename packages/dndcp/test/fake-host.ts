// A scripted host for CopyPasteGuest: answers the version query as told, takes the guest's RPCIs
// into a host-side endpoint, and sends TCLO packets to the guest (docs/protocol/dndcp.md §1, §2).
import {
  Cmd,
  CopyPasteGuest,
  type CopyPasteGuestOptions,
  DndCpEndpoint,
  type DndCpMessage,
  decodeTransport,
  HOST_CP_VERSION_QUERY,
  type ReceiveResult,
} from '../src/index.js';

export interface FakeHostOptions {
  /** The answer to vmx.capability.copypaste_version: a reply text, 'fail' ("0 …"), or 'throw'. */
  version?: string | 'fail' | 'throw';
  /** Fail the next N copypaste.transport RPCIs. */
  failTransport?: number;
  maxBinary?: number;
  caps?: number;
}

export class FakeHost {
  /** Every RPCI the guest sent, whole. */
  readonly rpci: Buffer[] = [];
  /** What the host-side endpoint made of each copypaste.transport RPCI. */
  readonly results: ReceiveResult[] = [];
  readonly endpoint: DndCpEndpoint;
  readonly guest: CopyPasteGuest;
  readonly errors: Error[] = [];
  #tclo: Buffer[] = [];
  failTransport: number;

  constructor(readonly opts: FakeHostOptions = {}) {
    this.failTransport = opts.failTransport ?? 0;
    this.endpoint = new DndCpEndpoint({
      role: 'host',
      channel: 'cp',
      send: (p) => void this.#tclo.push(p),
      ...(opts.maxBinary === undefined ? {} : { maxBinary: opts.maxBinary }),
    });
    const o: CopyPasteGuestOptions = { rpc: { send: (r) => this.#rpci(Buffer.from(r)) } };
    if (opts.caps !== undefined) o.caps = opts.caps;
    this.guest = new CopyPasteGuest(o);
    this.guest.on('error', (e) => this.errors.push(e));
  }

  async #rpci(req: Buffer): Promise<{ ok: boolean; reply: Buffer }> {
    this.rpci.push(req);
    if (req.toString('latin1') === HOST_CP_VERSION_QUERY) {
      const v = this.opts.version ?? '4';
      if (v === 'throw') throw new Error('channel closed');
      if (v === 'fail') return { ok: false, reply: Buffer.from('Unknown command') };
      return { ok: true, reply: Buffer.from(v) };
    }
    const t = decodeTransport(req);
    if (t?.channel !== 'cp') return { ok: false, reply: Buffer.from('Unknown command') };
    if (this.failTransport > 0) {
      this.failTransport--;
      return { ok: false, reply: Buffer.from('busy') };
    }
    this.results.push(await this.endpoint.receive(t.packet));
    return { ok: true, reply: Buffer.alloc(0) };
  }

  /** Sends a message to the guest and delivers every TCLO packet until both sides are quiet. */
  async send(m: DndCpMessage): Promise<void> {
    await this.endpoint.sendMessage(m);
    await this.pump();
  }

  async pump(): Promise<void> {
    for (let p = this.#tclo.shift(); p; p = this.#tclo.shift()) await this.guest.handleTransport(p);
  }

  /** The complete messages the host received after the guest's PING, in order. */
  messages(): Extract<ReceiveResult, { kind: 'message' }>['message'][] {
    return this.results.flatMap((r) =>
      r.kind === 'message' && r.message.cmd !== Cmd.PING ? [r.message] : [],
    );
  }

  async requestClipboard(sessionId: number, isActive = 0): Promise<void> {
    await this.send({ cmd: Cmd.CP_REQUEST_CLIPBOARD, sessionId, params: [4, 0, 0, isActive] });
  }
}
