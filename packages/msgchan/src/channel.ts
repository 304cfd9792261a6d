/**
 * A GuestMsg channel (BDOOR_CMD_MESSAGE = 30) over any BackdoorPort, following open-vm-tools
 * lib/message/message.c step for step (docs/protocol/backdoor.md §7–§11):
 *  - OPEN with the cookie flag, retried once without it on a host that refuses cookies;
 *  - send: SENDSIZE, then one HB OUT when the host offers HB, else SENDPAYLOAD 4 bytes at a time;
 *    a checkpoint (CPT) during the payload restarts the whole send from SENDSIZE;
 *  - receive: RECVSIZE, then one HB IN or RECVPAYLOADs, then RECVSTATUS(1); CPT during payload or
 *    status restarts from RECVSIZE; other failures acknowledge the failure (ebx = 0) like message.c;
 *  - SENDSIZE and RECVSIZE failures are not retried (message.c does not either).
 * So the host executes a request only when it has all of it, and keeps a reply until RECVSTATUS(1):
 * nothing is lost or applied twice. Retries are bounded, so a hostile host that answers CPT for
 * ever gets an error instead of a hang.
 */
import {
  type BackdoorPort,
  BDOOR_MAGIC,
  BDOOR_PORT,
  BDOORHB_PORT,
  Cmd,
  COOKIE_FLAG,
  Lock,
  MAX_GUEST_MESSAGE,
  type Registers,
  MessageStatus as S,
  MessageType as T,
} from '@vmw9/backdoor';
import { ChannelClosed, MessageError, MessageTooLarge, type Step } from './errors.js';

export interface ChannelOptions {
  /** Use high bandwidth when the host offers it (default true). */
  hb?: boolean;
  /** Largest host→guest message accepted (default 16 MiB); a larger one is refused and acknowledged as failed. */
  maxReceive?: number;
  /**
   * Largest guest→host message sent (default MAX_GUEST_MESSAGE, 64 KiB, what a host accepts of any
   * message). A protocol whose host takes more on its own command (HGFS large packets,
   * docs/protocol/hgfs.md) raises it for the channels that carry it; a larger message is refused here.
   */
  maxSend?: number;
  /** Checkpoint restarts allowed per message before giving up (default 16). */
  maxRestarts?: number;
}

/** Counts of what a channel did, for tests and benchmarks. */
export interface ChannelStats {
  calls: number;
  restarts: number;
  sent: number;
  received: number;
}

export class MessageChannel {
  private readonly lock = new Lock();
  private closed = false;
  readonly stats: ChannelStats = { calls: 0, restarts: 0, sent: 0, received: 0 };
  private readonly hb: boolean;
  private readonly maxReceive: number;
  private readonly maxSend: number;
  private readonly maxRestarts: number;

  private constructor(
    private readonly port: BackdoorPort,
    readonly protocol: number,
    readonly id: number,
    private readonly cookieHigh: number,
    private readonly cookieLow: number,
    /** Whether the host granted a cookie channel. */
    readonly cookies: boolean,
    opts: ChannelOptions,
  ) {
    this.hb = opts.hb ?? true;
    this.maxReceive = opts.maxReceive ?? 16 * 1024 * 1024;
    this.maxSend = opts.maxSend ?? MAX_GUEST_MESSAGE;
    this.maxRestarts = opts.maxRestarts ?? 16;
  }

  /** Opens a channel for a protocol (PROTOCOL_RPCI or PROTOCOL_TCLO). */
  static async open(
    port: BackdoorPort,
    protocol: number,
    opts: ChannelOptions = {},
  ): Promise<MessageChannel> {
    let out = await lb(port, T.OPEN, null, (protocol | COOKIE_FLAG) >>> 0);
    let cookies = true;
    if (!(status(out) & S.SUCCESS)) {
      // message.c: a host without cookie support refuses the flag; try once without it.
      out = await lb(port, T.OPEN, null, protocol >>> 0);
      cookies = false;
      if (!(status(out) & S.SUCCESS))
        throw new MessageError('OPEN', status(out), null, false, 'the host refused to open a channel');
    }
    return new MessageChannel(
      port,
      protocol,
      out.edx >>> 16,
      cookies ? out.esi : 0,
      cookies ? out.edi : 0,
      cookies,
      opts,
    );
  }

  /** Sends one message; concurrent callers are queued. */
  async send(data: Uint8Array): Promise<void> {
    const buf = toBuffer(data);
    if (buf.length > this.maxSend) throw new MessageTooLarge('guest-to-host', buf.length, this.maxSend);
    return this.lock.run(() => this.sendLocked(buf));
  }

  /** Receives the waiting message, or null when there is none. */
  receive(): Promise<Buffer | null> {
    return this.lock.run(() => this.receiveLocked());
  }

  /** Sends a message and receives the reply as one unit (an RPCI exchange); queued like the others. */
  async exchange(data: Uint8Array): Promise<Buffer | null> {
    const buf = toBuffer(data);
    if (buf.length > this.maxSend) throw new MessageTooLarge('guest-to-host', buf.length, this.maxSend);
    return this.lock.run(async () => {
      await this.sendLocked(buf);
      return this.receiveLocked();
    });
  }

  /** Closes the channel (after any queued operation). Safe to call twice. */
  close(): Promise<void> {
    return this.lock.run(async () => {
      if (this.closed) return;
      this.closed = true;
      // Like message.c, whatever the host answers the channel is ours no more.
      await this.call(T.CLOSE).catch(() => undefined);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---------------------------------------------------------------------------------------------

  private async sendLocked(msg: Buffer): Promise<void> {
    this.assertOpen();
    for (let restarts = 0; ; restarts++) {
      const size = await this.call(T.SENDSIZE, msg.length);
      if (!(status(size) & S.SUCCESS)) throw new MessageError('SENDSIZE', status(size), this.id, false);
      if (msg.length === 0) break;
      let st: number;
      let step: Step;
      if (this.hb && status(size) & S.HB) {
        step = 'HBOUT';
        st = (await this.hbOut(msg)).ebx >>> 16;
      } else {
        step = 'SENDPAYLOAD';
        st = S.SUCCESS as number;
        for (let i = 0; i < msg.length; i += 4) {
          // The tail of 1-3 bytes goes with zero high bytes, as message.c packs it.
          const word = msg.length - i >= 4 ? msg.readUInt32LE(i) : tailWord(msg, i);
          st = status(await this.call(T.SENDPAYLOAD, word));
          if (!(st & S.SUCCESS)) break;
        }
      }
      if (st & S.SUCCESS) break;
      if (st & S.CPT && restarts < this.maxRestarts) {
        this.stats.restarts++;
        continue;
      }
      throw new MessageError(
        step,
        st,
        this.id,
        false,
        st & S.CPT ? `still checkpointing after ${restarts} restarts` : '',
      );
    }
    this.stats.sent++;
  }

  private async receiveLocked(): Promise<Buffer | null> {
    this.assertOpen();
    for (let restarts = 0; ; restarts++) {
      const size = await this.call(T.RECVSIZE);
      const st0 = status(size);
      if (!(st0 & S.SUCCESS)) throw new MessageError('RECVSIZE', st0, this.id, true);
      if (!(st0 & S.DORECV)) return null;
      if (size.edx >>> 16 !== T.SENDSIZE)
        throw new MessageError(
          'RECVSIZE',
          st0,
          this.id,
          true,
          'edx.hi is not SENDSIZE: the host broke the protocol',
        );
      const len = size.ebx;
      if (len > this.maxReceive) {
        // Refuse it the way message.c gives up on a message: acknowledge the failure.
        await this.call(T.RECVSTATUS, 0).catch(() => undefined);
        throw new MessageTooLarge('host-to-guest', len, this.maxReceive);
      }
      const buf = Buffer.alloc(len);
      let st: number = S.SUCCESS;
      let step: Step = 'RECVSTATUS';
      let got = 0;
      if (len > 0 && this.hb && st0 & S.HB) {
        step = 'HBIN';
        st = (await this.hbIn(buf)).ebx >>> 16;
        if (st & S.SUCCESS) got = len;
      } else {
        step = 'RECVPAYLOAD';
        for (; got < len; got += 4) {
          const r = await this.call(T.RECVPAYLOAD, S.SUCCESS);
          st = status(r);
          if (!(st & S.SUCCESS)) break;
          if (r.edx >>> 16 !== T.SENDPAYLOAD) {
            await this.call(T.RECVPAYLOAD, 0).catch(() => undefined);
            throw new MessageError(
              'RECVPAYLOAD',
              st,
              this.id,
              true,
              'edx.hi is not SENDPAYLOAD: the host broke the protocol',
            );
          }
          const w = Buffer.alloc(4);
          w.writeUInt32LE(r.ebx, 0);
          w.copy(buf, got, 0, Math.min(4, len - got));
        }
      }
      if (st & S.SUCCESS) {
        step = 'RECVSTATUS';
        st = status(await this.call(T.RECVSTATUS, S.SUCCESS));
        if (st & S.SUCCESS) {
          this.stats.received++;
          return buf;
        }
      }
      if (st & S.CPT && restarts < this.maxRestarts) {
        this.stats.restarts++;
        continue;
      }
      // message.c's error path: tell the host we failed (ebx = 0) on the step we were at.
      await this.call(got < len ? T.RECVPAYLOAD : T.RECVSTATUS, 0).catch(() => undefined);
      throw new MessageError(
        step,
        st,
        this.id,
        true,
        st & S.CPT ? `still checkpointing after ${restarts} restarts` : '',
      );
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ChannelClosed(`channel ${this.id} is closed`);
  }

  private call(sub: number, ebx = 0): Promise<Registers> {
    this.stats.calls++;
    return lb(this.port, sub, this, ebx);
  }

  private hbOut(data: Buffer): Promise<Registers> {
    this.stats.calls++;
    // HB OUT: rsi = buffer (supplied by the port), edi = cookie low, ebp = cookie high.
    return this.port.hbOut(
      {
        eax: BDOOR_MAGIC,
        ebx: (S.SUCCESS << 16) >>> 0,
        ecx: data.length,
        edx: ((this.id << 16) | BDOORHB_PORT) >>> 0,
        esi: 0,
        edi: this.cookieLow,
        ebp: this.cookieHigh,
      },
      data,
    );
  }

  private hbIn(into: Buffer): Promise<Registers> {
    this.stats.calls++;
    // HB IN: esi = cookie high, rdi = buffer (supplied by the port), ebp = cookie low.
    return this.port.hbIn(
      {
        eax: BDOOR_MAGIC,
        ebx: (S.SUCCESS << 16) >>> 0,
        ecx: into.length,
        edx: ((this.id << 16) | BDOORHB_PORT) >>> 0,
        esi: this.cookieHigh,
        edi: 0,
        ebp: this.cookieLow,
      },
      into,
    );
  }

  /** @internal for lb() */
  get cookieWords(): [number, number] {
    return [this.cookieHigh, this.cookieLow];
  }
}

function lb(port: BackdoorPort, sub: number, ch: MessageChannel | null, ebx: number): Promise<Registers> {
  const [hi, lo] = ch ? ch.cookieWords : [0, 0];
  return port.call({
    eax: BDOOR_MAGIC,
    ebx: ebx >>> 0,
    ecx: ((sub << 16) | Cmd.MESSAGE) >>> 0,
    edx: (((ch?.id ?? 0) << 16) | BDOOR_PORT) >>> 0,
    esi: hi,
    edi: lo,
    ebp: 0,
  });
}

const status = (r: Registers): number => r.ecx >>> 16;

function tailWord(msg: Buffer, i: number): number {
  let w = 0;
  for (let k = msg.length - 1; k >= i; k--) w = (w << 8) | msg[k]!;
  return w >>> 0;
}

function toBuffer(data: Uint8Array): Buffer {
  if (!(data instanceof Uint8Array)) throw new TypeError('a message must be a Uint8Array or Buffer');
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
