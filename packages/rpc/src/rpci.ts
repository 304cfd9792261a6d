/**
 * RPCI: guest→host requests over a GuestRpcChannel of protocol RPCI (docs/protocol/guestrpc.md §1–§2).
 *
 * Persistent mode (the default) keeps one channel, as vmtoolsd does, and reopens it when the host
 * lost it (a reset, a restore, an idle timeout). A request is sent again only when the failure
 * proves the host never had all of it (msgchan's `requestComplete` is false): so nothing is lost
 * and nothing is applied twice. One-shot mode is vmware-rpctool's: OPEN, one exchange, CLOSE.
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import { ChannelClosed, type ChannelOptions, MessageError } from '@vmw9/msgchan';
import { GuestMsgChannel, type GuestRpcChannel } from './channel.js';
import { parseReply, type RpcReply } from './reply.js';
import { type TraceSink, TracingChannel } from './trace.js';

export interface RpciOptions {
  /** Times a request is sent again on a fresh channel after a failure before it reached the host (default 2). */
  reopenAttempts?: number;
}

/** Options of the factories that build the channel over a BackdoorPort. */
export interface RpciPortOptions extends RpciOptions, ChannelOptions {
  /** Reports every message on the channel (a TracingChannel around it). */
  trace?: TraceSink;
}

export class RpciClient {
  /** The pending or done start of the channel in use; null when it must be (re)opened. */
  private started: Promise<void> | null = null;
  /** The pending stop of a channel given up on; a new start waits for it. */
  private stopping: Promise<void> = Promise.resolve();
  /** Counts channel losses, so that of concurrent requests failing on one channel only the first restarts it. */
  private generation = 0;
  /** Channels opened so far (1 normally; more after host resets). */
  opens = 0;

  constructor(
    /** A channel of protocol RPCI, started by the client when first needed. */
    readonly channel: GuestRpcChannel,
    private readonly opts: RpciOptions = {},
  ) {}

  /** A client on a GuestMsg RPCI channel over `port` (what `new RpciClient(port)` was). */
  static overPort(port: BackdoorPort, opts: RpciPortOptions = {}): RpciClient {
    const { reopenAttempts, trace, ...channel } = opts;
    return new RpciClient(
      rpciChannel(port, channel, trace),
      reopenAttempts === undefined ? {} : { reopenAttempts },
    );
  }

  /** One request as vmware-rpctool makes it: a fresh channel, one exchange, CLOSE. */
  static async oneShot(
    port: BackdoorPort,
    command: string | Uint8Array,
    opts: ChannelOptions & { trace?: TraceSink } = {},
  ): Promise<RpcReply> {
    const { trace, ...channel } = opts;
    const ch = rpciChannel(port, channel, trace);
    await ch.start();
    try {
      return parseReply(await ch.exchange(encode(command)));
    } finally {
      await ch.stop();
    }
  }

  /** Sends a request on the persistent channel; `0 …` replies are returned (ok: false), not thrown. */
  async send(command: string | Uint8Array): Promise<RpcReply> {
    const data = encode(command);
    const attempts = this.opts.reopenAttempts ?? 2;
    for (let attempt = 0; ; attempt++) {
      await this.start();
      const generation = this.generation;
      try {
        return parseReply(await this.channel.exchange(data));
      } catch (e) {
        // Whatever broke the exchange (the host's error, a transport that failed or timed out
        // mid-message) leaves the channel in an unknown state: drop it so the next request opens a
        // fresh one rather than continuing a half-done message.
        this.lose(generation);
        // ChannelClosed: the channel was stopped under us (another request lost it) before
        // anything of ours was sent; a MessageError before the request was complete: retry.
        if (!(e instanceof MessageError || e instanceof ChannelClosed)) throw e;
        if ((e instanceof MessageError && e.requestComplete) || attempt >= attempts) throw e;
      }
    }
  }

  async close(): Promise<void> {
    this.started = null;
    this.generation++;
    await this.stopping;
    await this.channel.stop();
  }

  private start(): Promise<void> {
    this.started ??= this.stopping
      .then(() => this.channel.start())
      .then(
        () => {
          this.opens++;
        },
        (e: unknown) => {
          this.started = null;
          throw e;
        },
      );
    return this.started;
  }

  private lose(generation: number): void {
    if (generation !== this.generation) return;
    this.generation++;
    this.started = null;
    this.stopping = this.channel.stop().catch(() => undefined);
  }
}

function rpciChannel(port: BackdoorPort, opts: ChannelOptions, trace: TraceSink | undefined) {
  const ch = new GuestMsgChannel(port, 'rpci', opts);
  return trace ? new TracingChannel(ch, trace) : ch;
}

function encode(command: string | Uint8Array): Buffer {
  if (typeof command === 'string') return Buffer.from(command, 'utf8');
  if (command instanceof Uint8Array)
    return Buffer.from(command.buffer, command.byteOffset, command.byteLength);
  throw new TypeError('an RPCI command must be a string or a Uint8Array');
}
