/**
 * Raw GuestRPC as files:
 *  - `rpc1`: write one RPCI request, read the whole reply (`1 …`/`0 …`) on the same fid, like
 *    /net/cs; the request runs at write time, so a transport failure is the write's error.
 *  - `rpc/clone`, `rpc/N/ctl`, `rpc/N/data`: /net-style conversations over GuestMsg channels.
 *    Opening clone makes conversation N; reading that fid gives `N` and writing it is N's ctl
 *    (9P cannot move a fid to another file as the kernel's /net does). `ctl`: `open rpci|tclo|0xN`,
 *    `close`; reading shows `N proto state`. `data`: each write is one message, each read one whole
 *    message (blocking on TCLO until the host sends one). N goes away when its last fid is clunked.
 *  - `msg`: aux/vmwarefs' raw channel: the first write names the protocol (`0x49435052`), later
 *    writes send, a read at offset 0 receives (`no messages waiting` when none).
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import { MessageChannel, PROTOCOL_RPCI, PROTOCOL_TCLO } from '@vmw9/msgchan';
import type { RpcSender } from '@vmw9/rpc';
import { Dir, Errno, type FidContext, File, type Node, p9err, readBuf } from 'ninep';
import { badArg, ctlError, hostError } from './errors.js';
import type { Counters } from './stats.js';

/** `rpci`, `tclo`, or a protocol number (`0x49435052`, decimal). */
export function parseProtocol(word: string | undefined): number | null {
  if (word === 'rpci') return PROTOCOL_RPCI;
  if (word === 'tclo') return PROTOCOL_TCLO;
  if (word && /^(0x[0-9a-f]{1,8}|\d{1,10})$/i.test(word)) {
    const n = Number(word);
    return n <= 0xffffffff ? n : null;
  }
  return null;
}

export function rpc1File(rpc: RpcSender, counters: Counters): File {
  const f = new File('rpc1', 0o666);
  f.open = (fid: FidContext) => {
    fid.aux = { reply: Buffer.alloc(0) };
  };
  f.write = async (fid: FidContext, _o: number, data: Uint8Array) => {
    const text = Buffer.from(data).toString('utf8').replace(/\n$/, '');
    if (!text) throw badArg('empty request');
    counters.add('rpciRequests');
    try {
      const r = await rpc.send(text);
      (fid.aux as { reply: Buffer }).reply = Buffer.concat([Buffer.from(r.ok ? '1 ' : '0 '), r.reply]);
    } catch (e) {
      counters.add('rpciErrors');
      throw hostError(e);
    }
    return data.length;
  };
  f.read = (fid: FidContext, offset: number, count: number) => {
    return readBuf((fid.aux as { reply: Buffer }).reply, offset, count);
  };
  return f;
}

class Conversation {
  channel: MessageChannel | null = null;
  protocol = 0;
  refs = 0;
  constructor(
    readonly n: number,
    readonly dir: Dir,
  ) {}

  get state(): string {
    return this.channel ? 'open' : 'closed';
  }

  describe(): string {
    const proto =
      this.protocol === PROTOCOL_RPCI
        ? 'rpci'
        : this.protocol === PROTOCOL_TCLO
          ? 'tclo'
          : this.protocol
            ? `0x${this.protocol.toString(16)}`
            : '-';
    return `${this.n} ${proto} ${this.state}\n`;
  }
}

export class RpcDir extends Dir {
  private next = 0;

  constructor(private readonly port: BackdoorPort) {
    super('rpc', 0o555);
    const clone = new File('clone', 0o666);
    clone.open = (fid: FidContext) => {
      fid.aux = this.newConversation();
    };
    clone.read = (fid, offset, count) =>
      readBuf(Buffer.from(String((fid.aux as Conversation).n)), offset, count);
    clone.write = (fid, _o, data) => this.ctl(fid.aux as Conversation, data);
    clone.clunk = (fid) => this.release(fid.aux as Conversation | undefined);
    this.add(clone);
  }

  private newConversation(): Conversation {
    const n = this.next++;
    const dir = new Dir(String(n), 0o555);
    const conv = new Conversation(n, dir);
    const ctl = new File('ctl', 0o664);
    ctl.open = (fid) => {
      conv.refs++;
      fid.aux = conv;
    };
    ctl.read = (_fid, offset, count) => readBuf(Buffer.from(conv.describe()), offset, count);
    ctl.write = (_fid, _o, data) => this.ctl(conv, data);
    ctl.clunk = (fid) => this.release(fid.aux as Conversation | undefined);
    const data = new File('data', 0o666);
    data.open = (fid) => {
      conv.refs++;
      fid.aux = conv;
    };
    data.write = async (_fid, _o, bytes) => {
      if (!conv.channel) throw p9err(Errno.EIO, 'conversation not open (write open rpci|tclo|0xN to ctl)');
      try {
        await conv.channel.send(bytes);
      } catch (e) {
        throw hostError(e);
      }
      return bytes.length;
    };
    data.read = async (_fid, _o, count, signal) => {
      if (!conv.channel) throw p9err(Errno.EIO, 'conversation not open');
      // One whole message per read; on TCLO wait (polling) until the host sends one.
      for (let delay = 10; ; delay = Math.min(delay * 2, 500)) {
        let m: Buffer | null;
        try {
          m = await conv.channel.receive();
        } catch (e) {
          throw hostError(e);
        }
        if (m) return m.subarray(0, count);
        if (conv.protocol !== PROTOCOL_TCLO) return new Uint8Array(0);
        await sleep(delay, signal);
      }
    };
    data.clunk = (fid) => this.release(fid.aux as Conversation | undefined);
    dir.add(ctl);
    dir.add(data);
    conv.refs++; // the clone fid
    this.add(dir);
    return conv;
  }

  private async ctl(conv: Conversation, data: Uint8Array): Promise<number> {
    for (const line of Buffer.from(data).toString('utf8').split('\n')) {
      const f = line.trim().split(/\s+/).filter(Boolean);
      if (f.length === 0) continue;
      if (f[0] === 'open') {
        if (f.length !== 2) throw ctlError('bad # args to command', line);
        const proto = parseProtocol(f[1]);
        if (proto === null) throw ctlError('unknown protocol', line);
        if (conv.channel) throw ctlError('already open', line);
        try {
          conv.channel = await MessageChannel.open(this.port, proto);
          conv.protocol = proto;
        } catch (e) {
          throw hostError(e);
        }
      } else if (f[0] === 'close' && f.length === 1) {
        await conv.channel?.close();
        conv.channel = null;
      } else if (f[0] === 'close') throw ctlError('bad # args to command', line);
      else throw ctlError('unknown control message', line);
    }
    return data.length;
  }

  private async release(conv: Conversation | undefined): Promise<void> {
    if (!conv || --conv.refs > 0) return;
    await conv.channel?.close().catch(() => undefined);
    conv.channel = null;
    // The conversation is gone: its ctl and data go with it, then its directory.
    conv.dir.children.clear();
    if (this.children.get(conv.dir.name) === conv.dir) this.detach(conv.dir as Node);
  }
}

/** aux/vmwarefs' `msg` file (§10.4), byte-compatible for old scripts. */
export function msgFile(port: BackdoorPort): File {
  interface MsgFid {
    channel?: MessageChannel;
    last?: Buffer;
  }
  const f = new File('msg', 0o666);
  f.open = (fid) => {
    fid.aux = {} satisfies MsgFid;
  };
  f.write = async (fid, offset, data) => {
    const a = fid.aux as MsgFid;
    if (offset !== 0) throw badArg('must write at offset zero');
    if (!a.channel) {
      const proto = parseProtocol(Buffer.from(data).toString('utf8').trim().toLowerCase());
      if (proto === null) throw badArg('bad message channel number');
      try {
        a.channel = await MessageChannel.open(port, proto);
      } catch {
        throw p9err(Errno.EIO, 'could not open message channel');
      }
      return data.length;
    }
    try {
      await a.channel.send(data);
    } catch {
      throw p9err(Errno.EIO, 'could not send message');
    }
    return data.length;
  };
  f.read = async (fid, offset, count) => {
    const a = fid.aux as MsgFid;
    if (!a.channel) throw p9err(Errno.EIO, 'message channel not open');
    if (offset === 0) {
      let m: Buffer | null;
      try {
        m = await a.channel.receive();
      } catch (e) {
        throw hostError(e);
      }
      if (!m) throw p9err(Errno.EAGAIN, 'no messages waiting');
      a.last = m;
    }
    return readBuf(a.last ?? Buffer.alloc(0), offset, count);
  };
  f.clunk = async (fid) => {
    await (fid.aux as MsgFid | undefined)?.channel?.close().catch(() => undefined);
  };
  return f;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason ?? new Error('interrupted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', abort);
      resolve();
    }, ms);
    const abort = () => {
      clearTimeout(t);
      reject(signal.reason ?? new Error('interrupted'));
    };
    signal.addEventListener('abort', abort, { once: true });
  });
}
