/**
 * SocketBackdoorPort: a BackdoorPort that reaches a `vmw9 sim` in another process over its Unix
 * socket (docs/protocol/sim-wire.md). The wire carries no request id, so a reply is matched to its
 * request by order alone; to keep that match exact, one call is on the wire at a time, and a call
 * the host leaves unanswered past the call timeout fails and resets the link (a new connection and
 * hello) before the next call goes out. An answer can be late or missing, never another call's.
 */
import { createConnection, type Socket } from 'node:net';
import {
  BackdoorFault,
  type BackdoorPort,
  BackdoorUnavailable,
  checkHbBuffer,
  checkRegisters,
  type Registers,
} from '@vmw9/backdoor';
import { type DialAddress, formatDial, parseDialOrPath } from 'ninep/dial';
import { probeNinep } from './identify.js';
import {
  decodeResponse,
  encodeRequest,
  FrameReader,
  HELLO_SIZE,
  hello,
  MAX_PAYLOAD,
  Op,
  parseHello,
  Status,
} from './wire.js';

export interface SocketPortOptions {
  /** How long the hello may take (default 5 s). */
  helloTimeoutMs?: number;
  /**
   * How long one call may wait for its answer before it fails and the link is reset (default
   * 10 s; a simulated host answers in microseconds, so this only ends a host that went silent).
   */
  callTimeoutMs?: number;
}

interface PendingCall {
  frame: Buffer;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

/** One connection, after its hello. */
interface Link {
  sock: Socket;
  reader: FrameReader;
}

export class SocketBackdoorPort implements BackdoorPort {
  private readonly queue: PendingCall[] = [];
  private inFlight: { call: PendingCall; timer: NodeJS.Timeout } | null = null;
  private link: Link | null;
  private connecting = false;
  private closed: Error | null = null;
  /** Links reset after a call went unanswered (for tests and diagnostics). */
  resets = 0;
  private readonly helloTimeoutMs: number;
  private readonly callTimeoutMs: number;

  private constructor(
    private readonly target: DialAddress & { net: 'unix' },
    first: Link,
    opts: SocketPortOptions,
  ) {
    this.link = null;
    this.helloTimeoutMs = opts.helloTimeoutMs ?? 5000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 10_000;
    this.adopt(first);
  }

  /** The address this port reaches, as a dial string. */
  get address(): string {
    return formatDial(this.target);
  }

  /** Connects to `unix!PATH` (or a bare path) and exchanges the hello. A number is the hello timeout. */
  static async connect(address: string, opts: number | SocketPortOptions = {}): Promise<SocketBackdoorPort> {
    const o: SocketPortOptions = typeof opts === 'number' ? { helloTimeoutMs: opts } : opts;
    const a = parseDialOrPath(address);
    if (a.net !== 'unix') throw new TypeError(`a simulated host is reached over unix!PATH, got ${address}`);
    const link = await openLink(a, o.helloTimeoutMs ?? 5000);
    return new SocketBackdoorPort(a, link, o);
  }

  private adopt(link: Link): void {
    this.link = link;
    link.sock.on('data', (chunk: Buffer) => this.onData(link, chunk));
    link.sock.on('error', () => undefined); // 'close' follows and says what matters
    link.sock.on('close', () => {
      if (this.link !== link) return;
      this.link = null;
      this.finishInFlight(
        new BackdoorUnavailable(`the simulated host at ${this.address} closed the connection`, 'closed'),
      );
    });
  }

  private onData(link: Link, chunk: Buffer): void {
    if (this.link !== link) return;
    let frames: Buffer[];
    try {
      frames = link.reader.push(chunk);
    } catch (e) {
      this.broken(`broke the wire: ${(e as Error).message}`);
      return;
    }
    for (const f of frames) {
      const current = this.inFlight;
      if (!current) {
        this.broken('answered a call nobody made');
        return;
      }
      clearTimeout(current.timer);
      this.inFlight = null;
      current.call.resolve(f);
    }
    this.pump();
  }

  /** The host broke the wire protocol: the link cannot be trusted any more. */
  private broken(what: string): void {
    this.reset(new BackdoorUnavailable(`the simulated host at ${this.address} ${what}`, 'protocol'));
  }

  /** Fails the call on the wire, if any, and lets the next one go. */
  private finishInFlight(e: Error): void {
    const current = this.inFlight;
    if (current) {
      clearTimeout(current.timer);
      this.inFlight = null;
      current.call.reject(e);
    }
    this.pump();
  }

  /** Drops the link (its late answers can no longer be mistaken for another call's) and fails the call on it. */
  private reset(e: Error): void {
    const link = this.link;
    this.link = null;
    this.resets++;
    link?.sock.destroy();
    this.finishInFlight(e);
  }

  /** Sends the next queued call when none is on the wire, opening a new link first if needed. */
  private pump(): void {
    if (this.inFlight || this.connecting || this.queue.length === 0) return;
    if (this.closed) {
      for (const c of this.queue.splice(0)) c.reject(this.closed);
      return;
    }
    const link = this.link;
    if (!link) {
      this.connecting = true;
      openLink(this.target, this.helloTimeoutMs).then(
        (l) => {
          this.connecting = false;
          if (this.closed) l.sock.destroy();
          else this.adopt(l);
          this.pump();
        },
        (e: Error) => {
          this.connecting = false;
          // The call that needed the link fails; the next one tries again.
          this.queue.shift()?.reject(e);
          this.pump();
        },
      );
      return;
    }
    const call = this.queue.shift()!;
    const timer = setTimeout(
      () =>
        this.reset(
          new BackdoorUnavailable(
            `the simulated host at ${this.address} did not answer a call within ${this.callTimeoutMs} ms; the link was reset`,
            'timeout',
          ),
        ),
      this.callTimeoutMs,
    );
    this.inFlight = { call, timer };
    link.sock.write(call.frame);
  }

  private async roundTrip(
    op: number,
    regs: Registers,
    count: number,
    payload: Buffer,
  ): Promise<{ regs: Registers; payload: Buffer }> {
    if (this.closed) throw this.closed;
    const frame = encodeRequest({ op, pid: process.pid, regs, count, payload });
    const answer = new Promise<Buffer>((resolve, reject) => this.queue.push({ frame, resolve, reject }));
    this.pump();
    const r = decodeResponse(await answer);
    if (r.status === Status.FAULT)
      throw new BackdoorFault('the backdoor call faulted: the simulated host refuses it', 'restricted');
    if (r.status !== Status.DONE)
      throw new BackdoorFault(`the simulated host reported an error: ${r.payload.toString('utf8')}`, 'error');
    return r;
  }

  async call(regs: Registers): Promise<Registers> {
    checkRegisters(regs);
    return (await this.roundTrip(Op.LB, regs, 0, Buffer.alloc(0))).regs;
  }

  async hbOut(regs: Registers, data: Uint8Array): Promise<Registers> {
    checkRegisters(regs);
    checkHbBuffer(data, 'data');
    return (
      await this.roundTrip(
        Op.HB_OUT,
        regs,
        data.byteLength,
        Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      )
    ).regs;
  }

  async hbIn(regs: Registers, into: Uint8Array): Promise<Registers> {
    checkRegisters(regs);
    checkHbBuffer(into, 'into');
    const r = await this.roundTrip(Op.HB_IN, regs, into.byteLength, Buffer.alloc(0));
    into.set(r.payload.subarray(0, into.byteLength));
    return r.regs;
  }

  async close(): Promise<void> {
    this.closed ??= new BackdoorUnavailable('the port was closed', 'closed');
    for (const c of this.queue.splice(0)) c.reject(this.closed);
    const link = this.link;
    this.link = null;
    this.finishInFlight(this.closed);
    if (!link || link.sock.destroyed) return;
    await new Promise<void>((resolve) => {
      link.sock.once('close', () => resolve());
      link.sock.end();
    });
  }
}

/** Connects and exchanges the hello; explains a peer that is not a simulated host. */
async function openLink(target: DialAddress & { net: 'unix' }, timeoutMs: number): Promise<Link> {
  const address = formatDial(target);
  try {
    return await hello16(target.path, address, timeoutMs);
  } catch (e) {
    throw await explainRefusal(e, target.path, address);
  }
}

function hello16(path: string, address: string, timeoutMs: number): Promise<Link> {
  const sock = createConnection(path);
  const reader = new FrameReader(36 + MAX_PAYLOAD);
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let settled = false;
    let connected = false;
    const finish = (err?: Error, rest?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('error', onError);
      sock.off('close', onClose);
      if (err) {
        sock.destroy();
        return reject(err);
      }
      // Nothing is on the wire yet, so bytes after the hello are a protocol error, found on first use.
      if (rest?.length) reader.push(rest);
      resolve({ sock, reader });
    };
    const timer = setTimeout(
      () =>
        finish(
          new BackdoorUnavailable(
            `no answer from the simulated host at ${address} within ${timeoutMs} ms`,
            'timeout',
          ),
        ),
      timeoutMs,
    );
    const onClose = () =>
      finish(
        new BackdoorUnavailable(
          `${address} closed the connection during the hello: it is not a vmx-sim host`,
          'bad-hello',
        ),
      );
    // After the connect, an error (a reset) is the peer refusing the hello, as a close is.
    const onError = (e: Error) =>
      connected
        ? onClose()
        : finish(
            new BackdoorUnavailable(
              `cannot reach the simulated host at ${address}: ${e.message} (is \`vmw9 sim --listen '${address}'\` running?)`,
              'unreachable',
            ),
          );
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < HELLO_SIZE) return;
      if (!parseHello(buf.subarray(0, HELLO_SIZE)))
        return finish(new BackdoorUnavailable(`${address} is not a vmx-sim host (bad hello)`, 'bad-hello'));
      finish(undefined, buf.subarray(HELLO_SIZE));
    };
    sock.on('error', onError);
    sock.on('data', onData);
    sock.on('close', onClose);
    sock.once('connect', () => {
      connected = true;
      sock.write(hello(process.pid));
    });
  });
}

/**
 * Something listened but did not answer the hello: if it speaks 9P, say so (the agent's tree is
 * the usual wrong socket), so the user is not left guessing at a silent or closed connection.
 */
async function explainRefusal(e: unknown, path: string, address: string): Promise<unknown> {
  if (!(e instanceof BackdoorUnavailable) || (e.reason !== 'bad-hello' && e.reason !== 'timeout')) return e;
  const version = await probeNinep(path);
  if (version === null) return e;
  return new BackdoorUnavailable(
    `${address} is a 9P file server (it answered Tversion with ${version}), not a simulated host: ` +
      "perhaps the agent's tree (read it with `vmw9 9p` or `vmw9 status`); a simulated host is `vmw9 sim --listen ADDR`",
    'not-a-sim',
  );
}
