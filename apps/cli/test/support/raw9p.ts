/**
 * For the reliability suite and the soak (bench/soak.bench.ts): a 9P client on a bare socket that
 * sends whatever it is told — frames out of order, several on one tag, half a frame — and keeps
 * every reply, so a test can count what the server answered. Frames are built with ninep's codec.
 */
import { connect, type Socket } from 'node:net';
import { decode, encode, type Message, type RequestBody } from 'ninep';

export class Raw9p {
  /** Every reply, in arrival order. */
  readonly replies: Message[] = [];
  /** Resolves when the server (or we) closed the connection. */
  readonly closed: Promise<void>;
  isClosed = false;
  /** The msize agreed by session() (0 before). */
  msize = 0;
  private buf: Buffer = Buffer.alloc(0);
  private readonly waiters = new Map<number, (m: Message) => void>();
  private nextTag = 1;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => this.take(d));
    socket.on('error', () => {});
    this.closed = new Promise((r) =>
      socket.on('close', () => {
        this.isClosed = true;
        r();
      }),
    );
  }

  /** Connects; rejects if the connection fails (a refusal at accept connects, then closes). */
  static open(path: string): Promise<Raw9p> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new Raw9p(s));
      });
    });
  }

  /** A connection that has agreed `msize` (9P2000) and attached fid 0 to the root. */
  static async session(path: string, msize = 65536): Promise<Raw9p> {
    const k = await Raw9p.open(path);
    const v = await k.rpc({ type: 'Tversion', msize, version: '9P2000' }, 0xffff);
    if (v.type !== 'Rversion') throw new Error(`Tversion: ${describe(v)}`);
    k.msize = v.msize;
    const a = await k.rpc({ type: 'Tattach', fid: 0, afid: 0xffffffff, uname: 'glenda', aname: '' });
    if (a.type !== 'Rattach') throw new Error(`Tattach: ${describe(a)}`);
    return k;
  }

  /** A tag not used by this client's earlier calls (wraps below NOTAG). */
  tag(): number {
    const t = this.nextTag;
    this.nextTag = t >= 0xfffe ? 1 : t + 1;
    return t;
  }

  /** Sends a request without waiting. */
  send(msg: RequestBody, tag: number): void {
    this.socket.write(encode(msg, '9P2000', tag));
  }

  /** Sends a request and waits for the reply with its tag (rejects if the connection closes first). */
  rpc(msg: RequestBody, tag = this.tag()): Promise<Message> {
    const reply = this.reply(tag);
    this.send(msg, tag);
    return reply;
  }

  /** The next reply with `tag` (rejects if the connection closes first). */
  reply(tag: number): Promise<Message> {
    return new Promise((resolve, reject) => {
      this.waiters.set(tag, resolve);
      void this.closed.then(() => {
        if (this.waiters.get(tag) === resolve) {
          this.waiters.delete(tag);
          reject(new Error(`connection closed before the reply to tag ${tag}`));
        }
      });
    });
  }

  /** The replies received with `tag`. */
  answers(tag: number): Message[] {
    return this.replies.filter((m) => m.tag === tag);
  }

  /** Walks `names` from the root onto `newfid` and opens it; throws on an error reply. */
  async open(newfid: number, names: string[], mode: number): Promise<void> {
    const w = await this.rpc({ type: 'Twalk', fid: 0, newfid, wnames: names });
    if (w.type !== 'Rwalk') throw new Error(`walk ${names.join('/')}: ${describe(w)}`);
    const o = await this.rpc({ type: 'Topen', fid: newfid, mode });
    if (o.type !== 'Ropen') throw new Error(`open ${names.join('/')}: ${describe(o)}`);
  }

  close(): void {
    this.socket.destroy();
  }

  private take(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32LE(0);
      if (this.buf.length < n) break;
      const m = decode(this.buf.subarray(0, n), '9P2000');
      this.buf = this.buf.subarray(n);
      this.replies.push(m);
      const w = this.waiters.get(m.tag);
      if (w) {
        this.waiters.delete(m.tag);
        w(m);
      }
    }
  }
}

/** A reply in a line, for assertion messages. */
export function describe(m: Message): string {
  return m.type === 'Rerror' ? `Rerror ${m.ename}` : m.type;
}

/**
 * The first `size` − 1 bytes of a frame that says it is `size` bytes long (a Tversion header, then
 * filler): the server must hold or refuse it, never get a whole message.
 */
export function partialFrame(size: number): Buffer {
  const b = Buffer.alloc(size - 1, 0x55);
  b.writeUInt32LE(size, 0);
  b.writeUInt8(100, 4);
  b.writeUInt16LE(0xffff, 5);
  return b;
}
