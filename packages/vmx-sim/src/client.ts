/**
 * SocketBackdoorPort: a BackdoorPort that reaches a `vmw9 sim` in another process over its Unix
 * socket (docs/protocol/sim-wire.md). Calls are queued and answered in order on one connection.
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
import { formatDial, parseDialOrPath } from 'ninep/dial';
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

interface Waiter {
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
}

export class SocketBackdoorPort implements BackdoorPort {
  private readonly reader = new FrameReader(36 + MAX_PAYLOAD);
  private readonly waiting: Waiter[] = [];
  private closed: Error | null = null;

  private constructor(
    private readonly sock: Socket,
    /** The address this port reaches, as a dial string. */
    readonly address: string,
  ) {}

  /** Connects to `unix!PATH` (or a bare path) and exchanges the hello. */
  static async connect(address: string, timeoutMs = 5000): Promise<SocketBackdoorPort> {
    const a = parseDialOrPath(address);
    if (a.net !== 'unix') throw new TypeError(`a simulated host is reached over unix!PATH, got ${address}`);
    const port = new SocketBackdoorPort(createConnection(a.path), formatDial(a));
    try {
      await port.handshake(timeoutMs);
    } catch (e) {
      throw await explainRefusal(e, a.path, port.address);
    }
    return port;
  }

  private handshake(timeoutMs: number): Promise<void> {
    const sock = this.sock;
    return new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      let settled = false;
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
        sock.on('data', (chunk: Buffer) => this.onData(chunk));
        sock.on('error', (e) => this.fail(e));
        sock.on('close', () =>
          this.fail(
            new BackdoorUnavailable(`the simulated host at ${this.address} closed the connection`, 'closed'),
          ),
        );
        if (rest?.length) this.onData(rest);
        resolve();
      };
      const timer = setTimeout(
        () =>
          finish(
            new BackdoorUnavailable(
              `no answer from the simulated host at ${this.address} within ${timeoutMs} ms`,
              'timeout',
            ),
          ),
        timeoutMs,
      );
      let connected = false;
      // After the connect, an error (a reset) is the peer refusing the hello, as a close is.
      const onError = (e: Error) =>
        connected
          ? onClose()
          : finish(
              new BackdoorUnavailable(
                `cannot reach the simulated host at ${this.address}: ${e.message} (is \`vmw9 sim --listen '${this.address}'\` running?)`,
                'unreachable',
              ),
            );
      const onData = (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length < HELLO_SIZE) return;
        if (!parseHello(buf.subarray(0, HELLO_SIZE)))
          return finish(
            new BackdoorUnavailable(`${this.address} is not a vmx-sim host (bad hello)`, 'bad-hello'),
          );
        finish(undefined, buf.subarray(HELLO_SIZE));
      };
      const onClose = () =>
        finish(
          new BackdoorUnavailable(
            `${this.address} closed the connection during the hello: it is not a vmx-sim host`,
            'bad-hello',
          ),
        );
      sock.on('error', onError);
      sock.on('data', onData);
      sock.on('close', onClose);
      sock.once('connect', () => {
        connected = true;
        sock.write(hello(process.pid));
      });
    });
  }

  private onData(chunk: Buffer): void {
    try {
      for (const f of this.reader.push(chunk)) this.waiting.shift()?.resolve(f);
    } catch (e) {
      this.fail(e as Error);
      this.sock.destroy();
    }
  }

  private fail(e: Error): void {
    this.closed ??= e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  private async roundTrip(
    op: number,
    regs: Registers,
    count: number,
    payload: Buffer,
  ): Promise<{ regs: Registers; payload: Buffer }> {
    if (this.closed) throw this.closed;
    const frame = new Promise<Buffer>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.sock.write(encodeRequest({ op, pid: process.pid, regs, count, payload }));
    const r = decodeResponse(await frame);
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
    this.fail(new BackdoorUnavailable('the port was closed', 'closed'));
    await new Promise<void>((resolve) => {
      if (this.sock.destroyed) return resolve();
      this.sock.once('close', () => resolve());
      this.sock.end();
    });
  }
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
