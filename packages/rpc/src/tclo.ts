/**
 * The TCLO loop: host→guest commands fetched by polling a TCLO channel (docs/protocol/guestrpc.md
 * §6–§7).
 * Each turn sends the previous command's result (an empty message when there was none: that
 * empty send is the poll, and the only sign of life VMware gets from us), then receives. Handlers
 * return the text after `OK `; a thrown error becomes `ERROR <message>`; an unknown command gets
 * `ERROR Unknown Command` (open-vm-tools' GUEST_RPC_UNKNOWN_COMMAND).
 *
 * Polling policy (pollDelay): right after a command, poll again at once (a host sends commands in
 * bursts: reset, ping, Capabilities_Register, options); when idle, back off by doubling from
 * minDelayMs to maxDelayMs. vmtoolsd caps at 100 ms (10 polls/s, 2 backdoor calls each); our
 * default cap is 1 s, what OpenBSD's vmt(4) uses with VMware, so an idle guest costs 2 calls/s and
 * a host command waits at most about a second. Both are options.
 */
import { EventEmitter } from 'node:events';
import type { BackdoorPort } from '@vmw9/backdoor';
import { type ChannelOptions, MessageChannel, PROTOCOL_TCLO } from '@vmw9/msgchan';

/** What a handler returns: the text after `OK `; returning nothing answers `OK ` alone. */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers that return nothing are the common case.
type TcloResult = string | undefined | void;
export type TcloHandler = (args: string, command: string) => TcloResult | Promise<TcloResult>;

export interface TcloOptions {
  /** The name answered to `reset` (`OK ATR <app>`): `toolbox` for the system service. */
  app?: string;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Wait before reopening the channel after an error (vmtoolsd: 1 s). */
  restartDelayMs?: number;
  channel?: ChannelOptions;
  /** Called after `OK ATR` has reached the host: re-register (unified_loop, version, guest info…). */
  onReset?: () => void | Promise<void>;
  /** Injected for tests: how the loop waits (resolves early when `signal` aborts). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface TcloStats {
  polls: number;
  commands: number;
  errors: number;
  opens: number;
}

/** The delay before the next poll: 0 after a command, else doubling from min up to max. */
export function pollDelay(previousMs: number, hadCommand: boolean, minMs: number, maxMs: number): number {
  if (hadCommand) return 0;
  return previousMs <= 0 ? minMs : Math.min(previousMs * 2, maxMs);
}

export class TcloLoop extends EventEmitter {
  private readonly handlers = new Map<string, TcloHandler>();
  private readonly app: string;
  private readonly min: number;
  private readonly max: number;
  private readonly restartDelay: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private abort = new AbortController();
  private running: Promise<void> | null = null;
  private channel: MessageChannel | null = null;
  readonly stats: TcloStats = { polls: 0, commands: 0, errors: 0, opens: 0 };

  constructor(
    private readonly port: BackdoorPort,
    private readonly opts: TcloOptions = {},
  ) {
    super();
    this.app = opts.app ?? 'toolbox';
    this.min = opts.minDelayMs ?? 10;
    this.max = opts.maxDelayMs ?? 1000;
    this.restartDelay = opts.restartDelayMs ?? 1000;
    this.sleep = opts.sleep ?? abortableSleep;
    this.register('reset', () => `ATR ${this.app}`);
    this.register('ping', () => '');
  }

  /** Adds a handler; the command is the text up to the first space, `args` the rest. */
  register(command: string, handler: TcloHandler): this {
    this.handlers.set(command, handler);
    return this;
  }

  start(): void {
    if (this.running) return;
    this.abort = new AbortController();
    this.running = this.loop(this.abort.signal);
  }

  /** Stops polling and closes the channel. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.running = null;
  }

  /** Runs one command text through the handlers: the reply text to send (`OK …` / `ERROR …`). */
  async dispatch(text: string): Promise<string> {
    const sp = text.indexOf(' ');
    const command = sp < 0 ? text : text.slice(0, sp);
    const args = sp < 0 ? '' : text.slice(sp + 1);
    if (!command) return 'ERROR Bad command';
    const h = this.handlers.get(command);
    if (!h) return 'ERROR Unknown Command';
    try {
      const result = await h(args, command);
      return `OK ${result ?? ''}`;
    } catch (e) {
      return `ERROR ${(e as Error).message || 'failed'}`;
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    let reply: Buffer = Buffer.alloc(0);
    let afterReply: (() => void | Promise<void>) | undefined;
    let delay = 0;
    while (!signal.aborted) {
      try {
        if (!this.channel) {
          this.channel = await MessageChannel.open(this.port, PROTOCOL_TCLO, this.opts.channel);
          this.stats.opens++;
          reply = Buffer.alloc(0);
        }
        await this.channel.send(reply);
        if (reply.length === 0) this.stats.polls++;
        reply = Buffer.alloc(0);
        if (afterReply) {
          const fn = afterReply;
          afterReply = undefined;
          await Promise.resolve(fn()).catch((e: Error) => this.emit('error', e));
        }
        const msg = await this.channel.receive();
        delay = pollDelay(delay, msg !== null, this.min, this.max);
        if (msg) {
          const text = msg.toString('utf8');
          const answer = await this.dispatch(text);
          this.stats.commands++;
          reply = Buffer.from(answer, 'utf8');
          if (text === 'reset' && this.opts.onReset) afterReply = this.opts.onReset;
          this.emit('command', text, answer);
        }
        if (delay > 0) await this.sleep(delay, signal);
      } catch (e) {
        this.stats.errors++;
        this.emit('error', e as Error);
        const ch = this.channel;
        this.channel = null;
        await ch?.close().catch(() => undefined);
        delay = 0;
        await this.sleep(this.restartDelay, signal);
      }
    }
    await this.channel?.close().catch(() => undefined);
    this.channel = null;
  }

  /** Emits errors only to listeners; without one they are counted in stats, never thrown. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && this.listenerCount('error') === 0) return false;
    return super.emit(event, ...args);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
