/**
 * A scripted copy/paste guest for the host's tests: @vmw9/dndcp's DndCpEndpoint in the guest role
 * over real GuestMsg channels of a VmxHost (a TCLO channel named `toolbox-dnd`, one RPCI per
 * packet), the way vmusr carries its packets (docs/protocol/dndcp.md §2). It does only what a test
 * tells it: no answers of its own, so a test can also misbehave on purpose.
 */
import {
  Cmd,
  CP_CAPS,
  DndCpEndpoint,
  type DndCpMessage,
  type DndCpMessageHeader,
  decodeTransport,
  encodeTransport,
  type ReceiveResult,
  readHeader,
} from '@vmw9/dndcp';
import { SimBackdoorPort, type VmxHost } from '../src/index.js';
import { type Chan, open, receive, rpc, send, TCLO } from './guest-msg.js';

export interface Seen {
  channel: 'cp' | 'dnd';
  header: DndCpMessageHeader;
  result: ReceiveResult;
}

export class ScriptedGuest {
  readonly port: SimBackdoorPort;
  readonly cp: DndCpEndpoint;
  readonly dnd: DndCpEndpoint;
  /** Every transport packet the host sent, in order, with what the endpoint made of it. */
  readonly seen: Seen[] = [];
  /** Other TCLO commands, as text. */
  readonly commands: string[] = [];
  /** The replies of the host to our RPCIs (the transport answers are `1 `). */
  readonly rpciReplies: string[] = [];
  private tclo!: Chan;
  private reply = '';

  constructor(readonly host: VmxHost) {
    this.port = new SimBackdoorPort(host);
    const send = (channel: 'cp' | 'dnd') => async (packet: Buffer) => {
      this.rpciReplies.push(await rpc(this.port, encodeTransport(channel, packet)));
    };
    this.cp = new DndCpEndpoint({ role: 'guest', channel: 'cp', send: send('cp') });
    this.dnd = new DndCpEndpoint({ role: 'guest', channel: 'dnd', send: send('dnd') });
  }

  /** Opens the TCLO channel and answers the host's handshake as vmusr does (`OK ATR toolbox-dnd`). */
  async start(): Promise<void> {
    this.tclo = await open(this.port, TCLO);
    await this.pump();
  }

  /**
   * Takes every TCLO command the host has for us, until there is none: transport packets go to the
   * endpoints (which may send RPCIs before the TCLO reply, as vmusr does), everything else is
   * answered `OK `.
   */
  async pump(): Promise<void> {
    for (let idle = 0; idle < 2; ) {
      await send(this.port, this.tclo, Buffer.from(this.reply));
      this.reply = '';
      const cmd = await receive(this.port, this.tclo);
      if (!cmd) {
        // Let the host finish what it is doing with our last packets (it may queue more).
        await this.host.copyPaste.settled();
        await this.host.dnd.settled();
        idle++;
        continue;
      }
      idle = 0;
      const t = decodeTransport(cmd);
      if (t) {
        const endpoint = t.channel === 'cp' ? this.cp : this.dnd;
        const header = readHeader(t.packet);
        this.seen.push({ channel: t.channel, header, result: await endpoint.receive(t.packet) });
        this.reply = 'OK ';
      } else {
        const text = cmd.toString('utf8');
        this.commands.push(text);
        this.reply = text === 'reset' ? 'OK ATR toolbox-dnd' : 'OK ';
      }
    }
  }

  /** PING on the copy/paste channel as vmusr sends it (p1 = 4, p2 = 0, p3 = caps), then the host's answers. */
  async ping(caps = CP_CAPS): Promise<void> {
    await this.cp.sendMessage({ cmd: Cmd.PING, sessionId: 0, params: [4, 0, caps] });
    await this.pump();
  }

  async sendCp(m: DndCpMessage): Promise<void> {
    await this.cp.sendMessage(m);
    await this.pump();
  }

  /** One raw copy/paste packet (hostile tests). */
  async sendRaw(packet: Uint8Array): Promise<void> {
    this.rpciReplies.push(await rpc(this.port, encodeTransport('cp', packet)));
    await this.pump();
  }

  /** The complete messages the host sent on `channel`. */
  messages(channel: 'cp' | 'dnd' = 'cp') {
    return this.seen.flatMap((s) =>
      s.channel === channel && s.result.kind === 'message' ? [s.result.message] : [],
    );
  }

  /** The last complete message of command `cmd` the host sent on the copy/paste channel. */
  last(cmd: number) {
    return this.messages()
      .filter((m) => m.cmd === cmd)
      .at(-1);
  }
}
