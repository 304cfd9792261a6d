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
  /** As text, for matching and display. */
  command: string;
  /** What goes on the wire. */
  message: Buffer;
  /** Deliver only to this app's channel (e.g. `toolbox-dnd`); any channel when absent. */
  app?: string;
}

/** Per-channel TCLO state kept by the host. */
export interface TcloChannelState {
  app?: string;
  /** The command (as text) delivered and acknowledged (RECVSTATUS 1) whose reply has not come yet. */
  inFlight?: string;
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
    if (message.length === 0 || message.length > 65536)
      throw new Error('a TCLO command must be 1..65536 bytes');
    const text = typeof command === 'string' ? command : message.toString('utf8');
    this.queue.push(app ? { command: text, message, app } : { command: text, message });
  }

  /** Drops undelivered commands for which `which` is true (e.g. packets of a guest that has gone); returns how many. */
  cancel(which: (message: Buffer, app?: string) => boolean): number {
    let n = 0;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const p = this.queue[i]!;
      if (which(p.message, p.app)) {
        this.queue.splice(i, 1);
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
    const app = this.channels.get(id)?.app;
    this.channels.delete(id);
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
    st.inFlight = this.queue[i]!.command;
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
    st.inFlight = undefined;
    const reply = text.toString('utf8');
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
    this.replies.push(rec);
    if (this.replies.length > 10_000) this.replies.shift();
    this.emit('reply', rec);
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

  private hasApp(app: string): boolean {
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
