/**
 * The host side of TCLO: host→guest commands that the guest fetches by polling its TCLO channel
 * (docs/protocol/guestrpc.md §6, §13). Commands wait in a FIFO; one is outstanding at a time; the
 * guest's next non-empty send on that channel is its reply, recorded with the command.
 * Like VMware, a new TCLO channel is first sent `reset`; after the guest's `OK ATR <app>` the host
 * follows with `ping`, `Capabilities_Register` and its option list (`Set_Option …`). The exact
 * order VMware uses is UNCONFIRMED; this follows the spec's reading of rpcin.c and vmtoolsd.
 */
import { EventEmitter } from 'node:events';
import { resetReplyApp, TcloCommand } from '@vmw9/backdoor';

export interface TcloReply {
  /** The command as text (UTF-8). */
  command: string;
  /** The guest's reply text (UTF-8), e.g. `OK ATR toolbox`. */
  reply: string;
  /** The guest's reply, byte for byte. */
  raw: Buffer;
  /** The app that answered (from its `OK ATR <app>`), when known. */
  app?: string;
  channel: number;
}

export interface TcloOptions {
  /** Queue reset on every new TCLO channel, and ping/Capabilities_Register/options after `OK ATR`. */
  autoHandshake: boolean;
  /** Options sent as `Set_Option <name> <value>` after Capabilities_Register. */
  options: Array<[string, string]>;
}

interface Pending {
  /** As text, for matching and display (a request()'s label). */
  command: string;
  /** What goes on the wire. */
  message: Buffer;
  /** Deliver only to this app's channel (e.g. `toolbox-dnd`); any channel when absent. */
  app?: string;
  /** A request() waiting for this command's reply. */
  waiter?: Waiter;
}

interface Waiter {
  resolve(r: TcloReply): void;
  reject(e: Error): void;
  /** Binary requests: the reply text is cut to its first bytes and kept out of `replies`. */
  binary: boolean;
}

/** Why a request() got no reply: its channel closed with it outstanding, it was cancelled or aborted. */
export class TcloRequestFailed extends Error {
  override name = 'TcloRequestFailed';
  constructor(
    readonly command: string,
    readonly why: 'closed' | 'cancelled' | 'aborted',
    detail: string,
  ) {
    super(`TCLO ${command}: ${detail}`);
  }
}

/**
 * The longest command queued: an `f ` request of a large HGFS packet (2 + 522240 bytes), the
 * longest thing a host sends a guest. GuestMsg itself sets no host→guest limit
 * (docs/protocol/backdoor.md §12).
 */
export const TCLO_COMMAND_MAX = 2 + 522240;

/** How much of a binary request's reply is kept as text (`TcloReply.reply`). */
const BINARY_REPLY_TEXT = 200;

/** Per-channel TCLO state kept by the host. */
export interface TcloChannelState {
  app?: string;
  /** The command (as text) delivered and acknowledged (RECVSTATUS 1) whose reply has not come yet. */
  inFlight?: string;
  /** The request() waiting for the in-flight command's reply. */
  inFlightWaiter?: Waiter;
  /** Polls (empty sends) seen on this channel. */
  polls: number;
  lastPoll: number;
}

/** The system service's app name (vmsvc), where commands for no app in particular go. */
const SYSTEM_APP = 'toolbox';

const pending = (command: string, app: string): Pending => ({
  command,
  message: Buffer.from(command, 'utf8'),
  app,
});

export class TcloHost extends EventEmitter {
  private readonly queue: Pending[] = [];
  readonly replies: TcloReply[] = [];
  /** Non-empty messages that arrived with no command outstanding. */
  readonly unsolicited: Array<{ channel: number; text: string }> = [];
  readonly channels = new Map<number, TcloChannelState>();
  /** Polls (empty sends) on every TCLO channel since the start, closed channels included. */
  polls = 0;

  constructor(readonly options: TcloOptions) {
    super();
  }

  /**
   * Queues a host command: text (sent as UTF-8) or bytes (sent as they are), for `app`'s channel,
   * or with no app for the system service's (`toolbox`) when one is open, else any channel.
   */
  queueCommand(command: string | Uint8Array, app?: string): void {
    const message = typeof command === 'string' ? Buffer.from(command, 'utf8') : Buffer.from(command);
    checkSize(message);
    const text = typeof command === 'string' ? command : message.toString('utf8');
    this.queue.push(app ? { command: text, message, app } : { command: text, message });
  }

  /**
   * Queues a binary command for `app` and resolves with its reply (`raw` holds every byte;
   * `reply` only the first 200 as text). `label` stands for the command in `pending()` and in
   * the `reply` event; such replies are not kept in `replies` (an HGFS packet is up to half a
   * megabyte). Rejects with TcloRequestFailed when the channel closes with the command
   * outstanding, when cancel() drops it, or when `signal` aborts (a queued command is then
   * withdrawn; one already delivered is answered into the void).
   */
  request(
    message: Uint8Array,
    app: string,
    opts: { label: string; signal?: AbortSignal },
  ): Promise<TcloReply> {
    const bytes = Buffer.from(message);
    checkSize(bytes);
    return new Promise<TcloReply>((resolve, reject) => {
      const { signal, label } = opts;
      if (signal?.aborted) {
        reject(new TcloRequestFailed(label, 'aborted', 'aborted before it was queued'));
        return;
      }
      const onAbort = () => {
        const i = this.queue.indexOf(p);
        if (i >= 0) this.queue.splice(i, 1);
        for (const st of this.channels.values())
          if (st.inFlightWaiter === waiter) st.inFlightWaiter = undefined;
        reject(new TcloRequestFailed(label, 'aborted', 'no reply before the request was aborted'));
      };
      const waiter: Waiter = {
        binary: true,
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const p: Pending = { command: label, message: bytes, app, waiter };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(p);
    });
  }

  /** Drops undelivered commands for which `which` is true (e.g. packets of a guest that has gone); returns how many. */
  cancel(which: (message: Buffer, app?: string) => boolean): number {
    let n = 0;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const p = this.queue[i]!;
      if (which(p.message, p.app)) {
        this.queue.splice(i, 1);
        p.waiter?.reject(new TcloRequestFailed(p.command, 'cancelled', 'cancelled before delivery'));
        n++;
      }
    }
    return n;
  }

  /** Commands not yet delivered. */
  pending(): string[] {
    return this.queue.map((p) => p.command);
  }

  channelOpened(id: number): void {
    this.channels.set(id, { polls: 0, lastPoll: 0 });
    // A fresh channel means (re)started tools: they expect `reset` first, on that channel.
    if (this.options.autoHandshake) this.queue.unshift(pending(TcloCommand.RESET, `#${id}`));
  }

  channelClosed(id: number): void {
    const st = this.channels.get(id);
    const app = st?.app;
    this.channels.delete(id);
    if (st?.inFlightWaiter && st.inFlight !== undefined)
      st.inFlightWaiter.reject(
        new TcloRequestFailed(st.inFlight, 'closed', `channel ${id} closed before the guest answered`),
      );
    for (let i = this.queue.length - 1; i >= 0; i--)
      if (this.queue[i]!.app === `#${id}`) this.queue.splice(i, 1);
    this.emit('closed', { channel: id, ...(app ? { app } : {}) });
  }

  /** The next command's bytes for this channel, if it may have one now (nothing outstanding). */
  peek(id: number): Buffer | undefined {
    const st = this.channels.get(id);
    if (!st || st.inFlight !== undefined) return undefined;
    return this.queue.find((p) => this.matches(p, id, st))?.message;
  }

  /** The guest acknowledged (RECVSTATUS 1) the command peek() gave: it is now outstanding. */
  delivered(id: number): void {
    const st = this.channels.get(id);
    if (!st) return;
    const i = this.queue.findIndex((p) => this.matches(p, id, st));
    if (i < 0) return;
    const p = this.queue[i]!;
    st.inFlight = p.command;
    st.inFlightWaiter = p.waiter;
    this.queue.splice(i, 1);
  }

  /** A complete guest send on a TCLO channel: a poll (empty) or the reply to the outstanding command. */
  received(id: number, text: Buffer): void {
    const st = this.channels.get(id);
    if (!st) return;
    if (st.inFlight === undefined) {
      if (text.length === 0) {
        st.polls++;
        this.polls++;
        st.lastPoll = Date.now();
      } else this.unsolicited.push({ channel: id, text: text.toString('utf8') });
      return;
    }
    const command = st.inFlight;
    const waiter = st.inFlightWaiter;
    st.inFlight = undefined;
    st.inFlightWaiter = undefined;
    const reply = (waiter?.binary ? text.subarray(0, BINARY_REPLY_TEXT) : text).toString('utf8');
    const app = command === TcloCommand.RESET ? resetReplyApp(reply) : undefined;
    if (app !== undefined) {
      st.app = app;
      if (this.options.autoHandshake) {
        const after = [
          TcloCommand.PING,
          TcloCommand.CAPABILITIES_REGISTER,
          ...this.options.options.map(([k, v]) => `${TcloCommand.SET_OPTION} ${k} ${v}`),
        ];
        this.queue.unshift(...after.map((c) => pending(c, `#${id}`)));
      }
    }
    const rec: TcloReply = {
      command,
      reply,
      raw: Buffer.from(text),
      channel: id,
      ...(st.app ? { app: st.app } : {}),
    };
    if (!waiter?.binary) {
      this.replies.push(rec);
      if (this.replies.length > 10_000) this.replies.shift();
    }
    this.emit('reply', rec);
    waiter?.resolve(rec);
  }

  /** Resolves with the reply to the next `command` recorded from now on. */
  waitForReply(command: string, timeoutMs = 10_000): Promise<TcloReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('reply', on);
        reject(new Error(`no TCLO reply to "${command}" within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (r: TcloReply) => {
        if (r.command !== command) return;
        clearTimeout(timer);
        this.off('reply', on);
        resolve(r);
      };
      this.on('reply', on);
    });
  }

  /** Whether a TCLO channel has answered `reset` as `app`. */
  hasApp(app: string): boolean {
    for (const c of this.channels.values()) if (c.app === app) return true;
    return false;
  }

  private matches(p: Pending, id: number, st: TcloChannelState): boolean {
    // A command for no app in particular goes to the system service (vmsvc answers `OK ATR
    // toolbox`), where a host sends its system commands; to any channel while none has said so.
    if (!p.app) return st.app === SYSTEM_APP || !this.hasApp(SYSTEM_APP);
    if (p.app.startsWith('#')) return p.app === `#${id}`;
    return p.app === st.app;
  }
}

function checkSize(message: Buffer): void {
  if (message.length === 0 || message.length > TCLO_COMMAND_MAX)
    throw new RangeError(`a TCLO command must be 1..${TCLO_COMMAND_MAX} bytes, not ${message.length}`);
}
