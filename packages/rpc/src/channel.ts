/**
 * The seam between GuestRPC and its transport: a byte channel that can be opened, closed, and
 * carries whole messages (docs/protocol/guestrpc.md). RpciClient and TcloLoop speak only to this,
 * so a transport (GuestMsg over a BackdoorPort today) or a decorator (TracingChannel) slots in
 * without either of them knowing.
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import {
  ChannelClosed,
  type ChannelOptions,
  MessageChannel,
  PROTOCOL_RPCI,
  PROTOCOL_TCLO,
} from '@vmw9/msgchan';

/** A GuestRPC byte channel. Messages are opaque bytes; nothing here decodes them. */
export interface GuestRpcChannel {
  /** What the channel carries, for logs and traces: `rpci`, `tclo`. */
  readonly name: string;
  /** Opens the channel. Starting a started channel opens a fresh one in its place. */
  start(): Promise<void>;
  /** Closes the channel; stopping a stopped channel does nothing. */
  stop(): Promise<void>;
  /** Sends one message (TCLO: a reply, or the empty poll). */
  send(data: Uint8Array): Promise<void>;
  /** Receives the waiting message, or null when there is none. */
  receive(): Promise<Buffer | null>;
  /** Sends a message and receives its reply as one unit, nothing of others between (an RPCI request). */
  exchange(data: Uint8Array): Promise<Buffer | null>;
}

export type GuestRpcProtocol = 'rpci' | 'tclo';

const PROTOCOLS: Record<GuestRpcProtocol, number> = { rpci: PROTOCOL_RPCI, tclo: PROTOCOL_TCLO };

/**
 * A GuestRpcChannel over a GuestMsg channel (msgchan's MessageChannel) on a BackdoorPort. Its
 * failures are msgchan's MessageError, whose `requestComplete` tells whether the host had a whole
 * request; using it while stopped is msgchan's ChannelClosed.
 */
export class GuestMsgChannel implements GuestRpcChannel {
  private channel: MessageChannel | null = null;

  constructor(
    private readonly port: BackdoorPort,
    readonly name: GuestRpcProtocol,
    private readonly opts: ChannelOptions = {},
  ) {}

  async start(): Promise<void> {
    const old = this.channel;
    this.channel = null;
    await old?.close();
    this.channel = await MessageChannel.open(this.port, PROTOCOLS[this.name], this.opts);
  }

  async stop(): Promise<void> {
    const ch = this.channel;
    this.channel = null;
    await ch?.close();
  }

  async send(data: Uint8Array): Promise<void> {
    return this.open().send(data);
  }

  async receive(): Promise<Buffer | null> {
    return this.open().receive();
  }

  async exchange(data: Uint8Array): Promise<Buffer | null> {
    return this.open().exchange(data);
  }

  private open(): MessageChannel {
    if (!this.channel) throw new ChannelClosed(`the ${this.name} channel is not started`);
    return this.channel;
  }
}
