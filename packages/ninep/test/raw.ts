/** A raw 9P peer for protocol tests: sends hand-built frames to a server over an in-memory stream pair. */
import { PassThrough } from 'node:stream';
import {
  type Connection,
  type Dialect,
  decode,
  encode,
  Framer,
  type Message,
  type NinepServer,
  type RMessage,
} from '../src/index.js';

export class RawPeer {
  readonly toServer = new PassThrough();
  readonly fromServer = new PassThrough();
  readonly conn: Connection;
  dialect: Dialect = '9P2000';
  private readonly replies: RMessage[] = [];
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(server: NinepServer) {
    this.conn = server.serve(this.toServer, this.fromServer);
    const framer = new Framer(1 << 30, (f) => {
      this.replies.push(decode(Buffer.from(f), this.dialect) as RMessage);
      for (const w of this.waiters.splice(0)) w();
    });
    this.fromServer.on('data', (d: Buffer) => framer.push(d));
    this.conn.onClose(() => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  sendRaw(b: Buffer): void {
    this.toServer.write(b);
  }
  send(m: Message): void {
    this.toServer.write(encode(m, this.dialect));
  }
  /** The next reply with this tag (waits for it). */
  async reply(tag: number, timeoutMs = 30_000): Promise<RMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.replies.findIndex((r) => r.tag === tag);
      if (i >= 0) return this.replies.splice(i, 1)[0]!;
      if (this.closed) throw new Error(`connection closed while waiting for tag ${tag}`);
      if (Date.now() > deadline) throw new Error(`no reply for tag ${tag}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }
  async rpc(m: Message): Promise<RMessage> {
    this.send(m);
    return this.reply(m.tag);
  }
  /** Replies received so far and not consumed. */
  get unclaimed(): RMessage[] {
    return this.replies;
  }
  async version(version: Dialect = '9P2000', msize = 8192): Promise<RMessage> {
    const r = await this.rpc({ type: 'Tversion', tag: 0xffff, msize, version });
    if (r.type === 'Rversion' && r.version !== 'unknown') this.dialect = r.version as Dialect;
    return r;
  }
  async attach(fid = 0, uname = 'glenda'): Promise<RMessage> {
    return this.rpc({ type: 'Tattach', tag: 1, fid, afid: 0xffffffff, uname, aname: '', nUname: 1000 });
  }
}

export const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));
