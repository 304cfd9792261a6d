/**
 * The TCLO loop: host→guest commands fetched by polling a TCLO channel (docs/protocol/guestrpc.md
 * §6–§7).
 * Each turn sends the previous command's result (an empty message when there was none: that
 * empty send is the poll, and the only sign of life VMware gets from us), then receives. Handlers
 * return what follows `OK `; a thrown error becomes `ERROR <message>`; an unknown command gets
 * `ERROR Unknown Command` (open-vm-tools' GUEST_RPC_UNKNOWN_COMMAND). Commands and results are
 * bytes end to end: the command word is the bytes up to the first space, and a handler gets the
 * rest both as bytes (`request.args`) and, for the common text case, as UTF-8 (`args`).
 *
 * Polling policy (pollDelay): right after a command, poll again at once (a host sends commands in
 * bursts: reset, ping, Capabilities_Register, options); when idle, back off by doubling from
 * minDelayMs to maxDelayMs. vmtoolsd caps at 100 ms (10 polls/s, 2 backdoor calls each); our
 * default cap is 1 s, what OpenBSD's vmt(4) uses with VMware, so an idle guest costs 2 calls/s and
 * a host command waits at most about a second. Both are options.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type BackdoorPort,
  resetReply,
  TCLO_FAILURE,
  TCLO_SUCCESS,
  TCLO_UNKNOWN_COMMAND,
  TcloCommand,
} from '@vmw9/backdoor';
import type { ChannelOptions } from '@vmw9/msgchan';
import { GuestMsgChannel, type GuestRpcChannel } from './channel.js';
import { type TraceSink, TracingChannel } from './trace.js';

/** A host command as received. */
export interface TcloRequest {
  /** The command word: the bytes up to the first space. */
  command: string;
  /** The bytes after the first space (empty when there is none). */
  args: Buffer;
  /** The whole message. */
  raw: Buffer;
}

/** What a handler returns: the bytes after `OK ` (text is sent as UTF-8); nothing answers `OK ` alone. */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers that return nothing are the common case.
export type TcloResult = string | Uint8Array | undefined | void;
/** `args` is `request.args` as UTF-8 text; binary handlers read `request.args`. */
export type TcloHandler = (args: string, request: TcloRequest) => TcloResult | Promise<TcloResult>;

/** Handlers marked by binaryTclo: their args are never decoded. */
const BINARY_HANDLERS = new WeakSet<TcloHandler>();

/**
 * Marks a handler whose command carries binary (an HGFS packet, a copy/paste slice): the loop
 * passes it '' as `args` instead of decoding the bytes as UTF-8, which for half a megabyte of
 * binary costs tens of milliseconds per command. It reads `request.args` or `request.raw`.
 */
export function binaryTclo(handler: (request: TcloRequest) => TcloResult | Promise<TcloResult>): TcloHandler {
  const h: TcloHandler = (_args, request) => handler(request);
  BINARY_HANDLERS.add(h);
  return h;
}

export interface TcloOptions {
  /** The name answered to `reset` (`OK ATR <app>`): `toolbox` for the system service. */
  app?: string;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Wait before reopening the channel after an error (vmtoolsd: 1 s). */
  restartDelayMs?: number;
  /** Called after `OK ATR` has reached the host: re-register (unified_loop, version, guest info…). */
  onReset?: () => void | Promise<void>;
  /** Injected for tests: how the loop waits (resolves early when `signal` aborts). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** Options of the factory that builds the channel over a BackdoorPort. */
export interface TcloPortOptions extends TcloOptions {
  channel?: ChannelOptions;
  /** Reports every message on the channel (a TracingChannel around it). */
  trace?: TraceSink;
}

export interface TcloStats {
  polls: number;
  commands: number;
  errors: number;
  opens: number;
}

/**
 * Where a loop is: `stopped` (not started, or stopped), `opening` (opening its channel), `open`
 * (polling), `reopening` (the channel failed; `lastError` says how, and it is reopened shortly).
 */
export type TcloState = 'stopped' | 'opening' | 'open' | 'reopening';

/** The delay before the next poll: 0 after a command, else doubling from min up to max. */
export function pollDelay(previousMs: number, hadCommand: boolean, minMs: number, maxMs: number): number {
  if (hadCommand) return 0;
  return previousMs <= 0 ? minMs : Math.min(previousMs * 2, maxMs);
}

/**
 * Events: `command` (request, reply: the bytes answered) after each command, `unknown` (the raw message) for a command
 * no handler answers, `error` (Error) when the channel fails (it is reopened).
 */
export class TcloLoop extends EventEmitter {
  private readonly handlers = new Map<string, TcloHandler>();
  private readonly app: string;
  private readonly min: number;
  private readonly max: number;
  private readonly restartDelay: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private abort = new AbortController();
  private running: Promise<void> | null = null;
  readonly stats: TcloStats = { polls: 0, commands: 0, errors: 0, opens: 0 };
  private current: TcloState = 'stopped';
  private failure: string | undefined;

  constructor(
    /** A channel of protocol TCLO, started and stopped by the loop. */
    readonly channel: GuestRpcChannel,
    private readonly opts: TcloOptions = {},
  ) {
    super();
    this.app = opts.app ?? 'toolbox';
    this.min = opts.minDelayMs ?? 10;
    this.max = opts.maxDelayMs ?? 1000;
    this.restartDelay = opts.restartDelayMs ?? 1000;
    this.sleep = opts.sleep ?? abortableSleep;
    this.register(TcloCommand.RESET, () => resetReply(this.app));
    this.register(TcloCommand.PING, () => '');
  }

  /** A loop on a GuestMsg TCLO channel over `port` (what `new TcloLoop(port, opts)` was). */
  static overPort(port: BackdoorPort, opts: TcloPortOptions = {}): TcloLoop {
    const { channel, trace, ...loop } = opts;
    const ch = new GuestMsgChannel(port, 'tclo', channel);
    return new TcloLoop(trace ? new TracingChannel(ch, trace) : ch, loop);
  }

  /** The longest it waits between polls when idle (ms): its maxDelayMs. */
  get pollCapMs(): number {
    return this.max;
  }

  get state(): TcloState {
    return this.current;
  }

  /** The message of the channel's last failure (kept after it reopened), if any. */
  get lastError(): string | undefined {
    return this.failure;
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

  /** Runs one command through the handlers: the reply to send (`OK …` / `ERROR …`), text for text. */
  dispatch(message: string): Promise<string>;
  dispatch(message: Uint8Array): Promise<Buffer>;
  async dispatch(message: string | Uint8Array): Promise<string | Buffer> {
    if (typeof message === 'string')
      return (await this.answer(Buffer.from(message, 'utf8'))).toString('utf8');
    return this.answer(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
  }

  private async answer(raw: Buffer): Promise<Buffer> {
    return this.answerRequest(parseRequest(raw));
  }

  private async answerRequest({ command, args, raw }: TcloRequest): Promise<Buffer> {
    if (!command) return Buffer.from(`${TCLO_FAILURE}Bad command`);
    const h = this.handlers.get(command);
    if (!h) {
      // Said to listeners (the agent announces it in the tree's `events`): a host command nobody answers.
      this.emit('unknown', raw);
      return Buffer.from(`${TCLO_FAILURE}${TCLO_UNKNOWN_COMMAND}`);
    }
    try {
      const text = BINARY_HANDLERS.has(h) ? '' : args.toString('utf8');
      const result = await h(text, { command, args, raw });
      return Buffer.concat([
        OK,
        typeof result === 'string' ? Buffer.from(result, 'utf8') : (result ?? EMPTY),
      ]);
    } catch (e) {
      return Buffer.from(`${TCLO_FAILURE}${(e as Error).message || 'failed'}`, 'utf8');
    }
  }

  private async loop(signal: AbortSignal): Promise<void> {
    let open = false;
    let reply: Buffer = EMPTY;
    let afterReply: (() => void | Promise<void>) | undefined;
    let delay = 0;
    while (!signal.aborted) {
      try {
        if (!open) {
          if (this.current !== 'reopening') this.current = 'opening';
          await this.channel.start();
          open = true;
          this.current = 'open';
          this.stats.opens++;
          reply = EMPTY;
        }
        await this.channel.send(reply);
        if (reply.length === 0) this.stats.polls++;
        reply = EMPTY;
        if (afterReply) {
          const fn = afterReply;
          afterReply = undefined;
          await Promise.resolve(fn()).catch((e: Error) => this.emit('error', e));
        }
        const msg = await this.channel.receive();
        delay = pollDelay(delay, msg !== null, this.min, this.max);
        if (msg) {
          const request = parseRequest(msg);
          reply = await this.answerRequest(request);
          this.stats.commands++;
          if (msg.equals(RESET) && this.opts.onReset) afterReply = this.opts.onReset;
          // Bytes, decoded by nobody here: a copy/paste slice is 64 KB of binary.
          this.emit('command', request, reply);
        }
        if (delay > 0) await this.sleep(delay, signal);
      } catch (e) {
        this.stats.errors++;
        this.current = 'reopening';
        this.failure = (e as Error).message;
        this.emit('error', e as Error);
        open = false;
        await this.channel.stop().catch(() => undefined);
        delay = 0;
        await this.sleep(this.restartDelay, signal);
      }
    }
    if (open) await this.channel.stop().catch(() => undefined);
    this.current = 'stopped';
  }

  /** Emits errors only to listeners; without one they are counted in stats, never thrown. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && this.listenerCount('error') === 0) return false;
    return super.emit(event, ...args);
  }
}

/** A host message as handlers see it: the command word (bytes up to the first space) and the rest. */
function parseRequest(raw: Buffer): TcloRequest {
  const sp = raw.indexOf(0x20);
  const command = (sp < 0 ? raw : raw.subarray(0, sp)).toString('utf8');
  return { command, args: sp < 0 ? EMPTY : raw.subarray(sp + 1), raw };
}

const EMPTY = Buffer.alloc(0);
const OK = Buffer.from(TCLO_SUCCESS);
const RESET = Buffer.from(TcloCommand.RESET);

/** Waits `ms`, or less when `signal` aborts (the loop is stopping); never rejects. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}
