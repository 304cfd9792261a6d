/**
 * A scripted drag-and-drop guest for the host's tests: one TCLO channel (an app name of the
 * test's choice, `toolbox-dnd` by default) that answers the handshake, serves HGFS on TCLO `f `
 * with whatever server the test gives it, and answers `dnd.transport` packets as the test's
 * script says, over real GuestMsg channels of a VmxHost. It registers
 * `tools.capability.hgfs_server APP 1` and pings drag-and-drop version 4 as vmusr does
 * (docs/protocol/dndcp.md, "Host side"). Everything runs when the test pumps it: no timers.
 */
import {
  Cmd,
  DND_CAPS,
  DndCpEndpoint,
  type DndCpMessage,
  type DndCpReceivedMessage,
  decodeTransport,
  encodeTransport,
} from '@vmw9/dndcp';
import { SimBackdoorPort, type VmxHost } from '../src/index.js';
import { type Chan, open, receive, rpc, send, TCLO } from './guest-msg.js';

/** The guest's HGFS server: a request packet in, the reply packet out (undefined: dropped). */
export type HgfsHandler = (packet: Buffer) => Uint8Array | undefined;

/** What the guest answers to one host message: messages to send back, in order. */
export type DndScript = (m: DndCpReceivedMessage, guest: DndTestGuest) => DndCpMessage[] | undefined;

export interface DndTestGuestOptions {
  app?: string;
  hgfs?: HgfsHandler;
  script?: DndScript;
  /** Register as an HGFS server (default true). */
  servesHgfs?: boolean;
  /**
   * Answers every TCLO `f` message whole (`f`, `f ` + a packet) in place of `hgfs`: e.g.
   * @vmw9/hgfs's tcloHgfsReply, or a broken guest's answer.
   */
  fMessage?: (message: Buffer) => Buffer;
  /** The TCLO answer to every `dnd.transport` packet (default `OK `, as vmusr answers). */
  transportAnswer?: string;
}

const OK = Buffer.from('OK ');

export class DndTestGuest {
  readonly port: SimBackdoorPort;
  readonly dnd: DndCpEndpoint;
  readonly app: string;
  /** Every complete message the host sent on the drag-and-drop channel. */
  readonly received: DndCpReceivedMessage[] = [];
  /** Other TCLO commands, as text (transport and `f` packets left out). */
  readonly commands: string[] = [];
  /** HGFS requests served (TCLO `f`). */
  hgfsRequests = 0;
  script: DndScript;
  private tclo!: Chan;
  private reply: Buffer = Buffer.alloc(0);

  constructor(
    readonly host: VmxHost,
    private readonly opts: DndTestGuestOptions = {},
  ) {
    this.port = new SimBackdoorPort(host);
    this.app = opts.app ?? 'toolbox-dnd';
    this.script = opts.script ?? (() => undefined);
    this.dnd = new DndCpEndpoint({
      role: 'guest',
      channel: 'dnd',
      send: async (packet) => {
        await rpc(this.port, encodeTransport('dnd', packet));
      },
    });
  }

  /** The handshake, the HGFS server registration and the drag-and-drop PING. */
  async start(opts: { ping?: boolean } = {}): Promise<void> {
    this.tclo = await open(this.port, TCLO);
    await this.pump();
    if (this.opts.servesHgfs !== false) await rpc(this.port, `tools.capability.hgfs_server ${this.app} 1`);
    if (opts.ping !== false) {
      await this.dnd.sendMessage({ cmd: Cmd.PING, sessionId: 0, params: [4, 0, DND_CAPS] });
      await this.pump();
    }
  }

  /** Takes every TCLO command there is now, until none comes twice. */
  async pump(): Promise<void> {
    for (let idle = 0; idle < 2; ) {
      if (await this.step()) idle = 0;
      else {
        await this.host.dnd.settled();
        idle++;
      }
    }
  }

  /**
   * Pumps until `p` settles (yielding to the event loop between empty polls), then takes what
   * the host sent last; `p`'s value.
   */
  async runUntil<T>(p: Promise<T>, opts: { drain?: boolean } = {}): Promise<T> {
    let settled = false;
    const watched = p.finally(() => {
      settled = true;
    });
    watched.catch(() => {});
    while (!settled) {
      if (!(await this.step())) await new Promise((r) => setImmediate(r));
    }
    if (opts.drain !== false) await this.pump().catch(() => {});
    return watched;
  }

  /** One turn: send the last reply (or poll), take one command. False when there was none. */
  private async step(): Promise<boolean> {
    await send(this.port, this.tclo, this.reply);
    this.reply = Buffer.alloc(0);
    const cmd = await receive(this.port, this.tclo);
    if (!cmd) return false;
    this.reply = await this.answer(cmd);
    return true;
  }

  private async answer(cmd: Buffer): Promise<Buffer> {
    if (cmd.length >= 1 && cmd[0] === 0x66 && (cmd.length === 1 || cmd[1] === 0x20)) {
      // TCLO `f ` + an HGFS request (docs/protocol/hgfs.md, "The guest's shares"); `f` alone has no argument.
      this.hgfsRequests++;
      if (this.opts.fMessage) return this.opts.fMessage(cmd);
      if (cmd.length === 1) return Buffer.from('ERROR 1 argument required');
      const reply = this.opts.hgfs?.(cmd.subarray(2));
      return reply ? Buffer.concat([OK, reply]) : OK;
    }
    const t = decodeTransport(cmd);
    if (t?.channel === 'dnd') {
      const r = await this.dnd.receive(t.packet);
      if (r.kind === 'message') {
        this.received.push(r.message);
        for (const m of this.script(r.message, this) ?? []) await this.dnd.sendMessage(m);
      }
      return this.opts.transportAnswer !== undefined ? Buffer.from(this.opts.transportAnswer) : OK;
    }
    const text = cmd.toString('utf8');
    this.commands.push(text);
    return Buffer.from(text === 'reset' ? `OK ATR ${this.app}` : 'OK ');
  }

  /** The host's messages of command `cmd`. */
  messages(cmd: number): DndCpReceivedMessage[] {
    return this.received.filter((m) => m.cmd === cmd);
  }
}
