/**
 * A debugging aid: a GuestRpcChannel decorator that reports every message crossing it to a sink
 * (`vmw9 --trace` prints them on stderr). Outgoing messages are reported before they are sent, so
 * a host that never answers still shows what it was asked; incoming ones once received. Only
 * messages are reported: a TCLO poll is an empty outgoing message, a receive with nothing waiting
 * is no message.
 */
import type { GuestRpcChannel } from './channel.js';

export interface TraceRecord {
  /** `out`: guest to host; `in`: host to guest. */
  direction: 'out' | 'in';
  /** The channel's name: `rpci`, `tclo`. */
  channel: string;
  /** The message's length in bytes. */
  size: number;
  /** The first bytes, escaped to printable ASCII (see escapeBytes); `…` ends it when cut. */
  head: string;
}

export type TraceSink = (record: TraceRecord) => void;

export interface TraceOptions {
  /** How many bytes of each message `head` shows (default 64). */
  headBytes?: number;
}

export class TracingChannel implements GuestRpcChannel {
  private readonly headBytes: number;

  constructor(
    private readonly inner: GuestRpcChannel,
    private readonly sink: TraceSink,
    opts: TraceOptions = {},
  ) {
    this.headBytes = opts.headBytes ?? 64;
  }

  get name(): string {
    return this.inner.name;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  async send(data: Uint8Array): Promise<void> {
    this.record('out', data);
    await this.inner.send(data);
  }

  async receive(): Promise<Buffer | null> {
    const msg = await this.inner.receive();
    if (msg) this.record('in', msg);
    return msg;
  }

  async exchange(data: Uint8Array): Promise<Buffer | null> {
    this.record('out', data);
    const reply = await this.inner.exchange(data);
    if (reply) this.record('in', reply);
    return reply;
  }

  private record(direction: 'out' | 'in', data: Uint8Array): void {
    const cut = data.length > this.headBytes;
    const head = escapeBytes(data.subarray(0, this.headBytes)) + (cut ? '…' : '');
    this.sink({ direction, channel: this.inner.name, size: data.length, head });
  }
}

/**
 * Bytes as printable ASCII: printable characters as themselves, `\\` for a backslash, `\n` `\r`
 * `\t`, and `\xHH` for any other byte (so a payload's exact bytes can be read back).
 */
export function escapeBytes(data: Uint8Array): string {
  let s = '';
  for (const b of data) {
    if (b === 0x5c) s += '\\\\';
    else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
    else if (b === 0x0a) s += '\\n';
    else if (b === 0x0d) s += '\\r';
    else if (b === 0x09) s += '\\t';
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return s;
}

/** One line for a record: `rpci out 22 info-get guestinfo.foo`. */
export function formatTraceRecord(r: TraceRecord): string {
  return `${r.channel} ${r.direction} ${r.size}${r.size ? ` ${r.head}` : ''}`;
}
