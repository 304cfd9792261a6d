/**
 * RPCI: guest→host requests over a GuestMsg channel of protocol RPCI (docs/protocol/guestrpc.md §1–§2).
 *
 * Persistent mode (the default) keeps one channel, as vmtoolsd does, and reopens it when the host
 * lost it (a reset, a restore, an idle timeout). A request is sent again only when the failure
 * proves the host never had all of it (msgchan's `requestComplete` is false): so nothing is lost
 * and nothing is applied twice. One-shot mode is vmware-rpctool's: OPEN, one exchange, CLOSE.
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import { type ChannelOptions, MessageChannel, MessageError, PROTOCOL_RPCI } from '@vmw9/msgchan';
import { parseReply, type RpcReply } from './reply.js';

export interface RpciOptions extends ChannelOptions {
  /** Times a request is sent again on a fresh channel after a failure before it reached the host (default 2). */
  reopenAttempts?: number;
}

export class RpciClient {
  private channel: MessageChannel | null = null;
  private opening: Promise<MessageChannel> | null = null;
  /** Channels opened so far (1 normally; more after host resets). */
  opens = 0;

  constructor(
    private readonly port: BackdoorPort,
    private readonly opts: RpciOptions = {},
  ) {}

  /** One request as vmware-rpctool makes it: a fresh channel, one exchange, CLOSE. */
  static async oneShot(
    port: BackdoorPort,
    command: string | Uint8Array,
    opts: ChannelOptions = {},
  ): Promise<RpcReply> {
    const ch = await MessageChannel.open(port, PROTOCOL_RPCI, opts);
    try {
      return parseReply(await ch.exchange(encode(command)));
    } finally {
      await ch.close();
    }
  }

  /** Sends a request on the persistent channel; `0 …` replies are returned (ok: false), not thrown. */
  async send(command: string | Uint8Array): Promise<RpcReply> {
    const data = encode(command);
    const attempts = this.opts.reopenAttempts ?? 2;
    for (let attempt = 0; ; attempt++) {
      const ch = await this.open();
      try {
        return parseReply(await ch.exchange(data));
      } catch (e) {
        if (!(e instanceof MessageError)) throw e;
        // The channel is unusable either way: drop it so the next request opens a fresh one.
        this.drop(ch);
        if (e.requestComplete || attempt >= attempts) throw e;
      }
    }
  }

  async close(): Promise<void> {
    const ch = this.channel;
    this.channel = null;
    await ch?.close();
  }

  private open(): Promise<MessageChannel> {
    if (this.channel && !this.channel.isClosed) return Promise.resolve(this.channel);
    this.opening ??= MessageChannel.open(this.port, PROTOCOL_RPCI, this.opts)
      .then((ch) => {
        this.channel = ch;
        this.opens++;
        return ch;
      })
      .finally(() => {
        this.opening = null;
      });
    return this.opening;
  }

  private drop(ch: MessageChannel): void {
    if (this.channel === ch) this.channel = null;
    void ch.close();
  }
}

function encode(command: string | Uint8Array): Buffer {
  if (typeof command === 'string') return Buffer.from(command, 'utf8');
  if (command instanceof Uint8Array)
    return Buffer.from(command.buffer, command.byteOffset, command.byteLength);
  throw new TypeError('an RPCI command must be a string or a Uint8Array');
}
