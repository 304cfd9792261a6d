/**
 * Several RPCI channels used together, for bulk binary RPCs (HGFS, docs/protocol/hgfs.md) that
 * would otherwise queue behind each other: each channel carries one request and its reply at a
 * time (an RpciClient), so N channels keep N requests in flight. Channels are opened only when
 * every open one is busy, up to a bound: the host caps GuestMsg channels per VM (128,
 * docs/protocol/backdoor.md), and the agent's own channels and other programs' share that cap.
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import { MessageError } from '@vmw9/msgchan';
import type { RpcReply } from './reply.js';
import { RpciClient, type RpciPortOptions } from './rpci.js';
import type { RpcSender } from './typed.js';

/** Channels a pool opens at most unless told (the host's cap is per VM: keep it small). */
export const DEFAULT_POOL_CHANNELS = 4;
/** The most a pool may be configured with: the host's per-VM cap, GUESTMSG_MAX_CHANNEL. */
export const MAX_POOL_CHANNELS = 128;

export interface RpciPoolOptions extends RpciPortOptions {
  /** Channels at most (default 4, 1…128). */
  channels?: number;
}

/** The pool was closed: its requests end with this. */
export class PoolClosed extends Error {
  override readonly name = 'PoolClosed';
  constructor() {
    super('the RPCI channel pool is closed');
  }
}

export class RpciPool implements RpcSender {
  /** Channels made so far (each opened by its first request, reopened by RpciClient when lost). */
  private readonly clients: RpciClient[] = [];
  private readonly idle: RpciClient[] = [];
  private readonly waiting: Array<{ resolve: (c: RpciClient) => void; reject: (e: Error) => void }> = [];
  private closed = false;
  /** The bound in force: the configured one, lowered when the host refused to open another channel. */
  private limit: number;
  /** Requests sent, and the most that were in flight at once (for tests and `stats`). */
  readonly stats = { requests: 0, peakInFlight: 0, refusedOpens: 0 };
  private inFlight = 0;

  constructor(
    private readonly make: () => RpciClient,
    channels = DEFAULT_POOL_CHANNELS,
  ) {
    if (!Number.isInteger(channels) || channels < 1 || channels > MAX_POOL_CHANNELS)
      throw new RangeError(
        `an RPCI pool has 1 to ${MAX_POOL_CHANNELS} channels (the host's cap per VM), got ${channels}`,
      );
    this.limit = channels;
  }

  /** A pool of GuestMsg RPCI channels over `port`, each with `opts` (maxSend for large messages). */
  static overPort(port: BackdoorPort, opts: RpciPoolOptions = {}): RpciPool {
    const { channels, ...each } = opts;
    return new RpciPool(() => RpciClient.overPort(port, each), channels);
  }

  /** Channels made so far. */
  get size(): number {
    return this.clients.length;
  }
  /** The most channels this pool will use now. */
  get capacity(): number {
    return this.limit;
  }

  /** One request on the first free channel (a new one if all are busy and the bound allows). */
  async send(command: string | Uint8Array): Promise<RpcReply> {
    for (;;) {
      const client = await this.acquire();
      this.inFlight++;
      this.stats.requests++;
      this.stats.peakInFlight = Math.max(this.stats.peakInFlight, this.inFlight);
      try {
        return await client.send(command);
      } catch (e) {
        // The host would not open this channel, and others are open: it has hit its cap. Use
        // the channels we have from now on, and send the request on one of them.
        if (client.opens === 0 && e instanceof MessageError && e.step === 'OPEN' && this.clients.length > 1) {
          this.forget(client);
          this.stats.refusedOpens++;
          continue;
        }
        throw e;
      } finally {
        this.inFlight--;
        if (this.clients.includes(client)) this.release(client);
      }
    }
  }

  /** Closes every channel; queued and later requests fail with PoolClosed. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.reject(new PoolClosed());
    const all = this.clients.splice(0);
    this.idle.length = 0;
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }

  private acquire(): Promise<RpciClient> {
    if (this.closed) return Promise.reject(new PoolClosed());
    const free = this.idle.pop();
    if (free) return Promise.resolve(free);
    if (this.clients.length < this.limit) {
      const c = this.make();
      this.clients.push(c);
      return Promise.resolve(c);
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(c: RpciClient): void {
    const next = this.waiting.shift();
    if (next) next.resolve(c);
    else this.idle.push(c);
  }

  private forget(c: RpciClient): void {
    this.clients.splice(this.clients.indexOf(c), 1);
    this.limit = Math.max(1, this.clients.length);
    void c.close().catch(() => undefined);
  }
}
