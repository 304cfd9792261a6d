/**
 * Raw GuestRPC as files:
 *  - `rpc1`: write one RPCI request, read the whole reply (`1 …`/`0 …`) on the same fid, like
 *    /net/cs; the request runs at write time, so a transport failure is the write's error.
 *  - `rpc/clone`, `rpc/N/ctl`, `rpc/N/data`: /net-style conversations over GuestMsg channels.
 *    Opening clone makes conversation N; reading that fid gives `N` and writing it is N's ctl
 *    (9P cannot move a fid to another file as the kernel's /net does). `ctl`: `open rpci|tclo|0xN`,
 *    `close`; reading shows `N proto state`. `data`: each write is one message, each read one whole
 *    message (blocking on TCLO until the host sends one). N goes away when its last fid is clunked.
 * (aux/vmwarefs' raw `msg` file is in legacy.ts.)
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import { MessageChannel, PROTOCOL_RPCI, PROTOCOL_TCLO } from '@vmw9/msgchan';
import type { RpcSender } from '@vmw9/rpc';
import {
  abortableSleep,
  CommandError,
  CommandTable,
  Dir,
  Errno,
  type FidContext,
  File,
  type Node,
  p9err,
  readBuf,
} from 'ninep';
import { badArg, hostError } from './errors.js';
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

/** `rpc1`: write one RPCI request, then read its reply on the same fid. */
export class Rpc1File extends File {
  constructor(
    private readonly rpc: RpcSender,
    private readonly counters: Counters,
  ) {
    super('rpc1', 0o666);
  }

  override open(fid: FidContext): void {
    fid.aux = { reply: Buffer.alloc(0) };
  }

  override async write(fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    const text = Buffer.from(data).toString('utf8').replace(/\n$/, '');
    if (!text) throw badArg('empty request');
    this.counters.add('rpciRequests');
    try {
      const r = await this.rpc.send(text);
      (fid.aux as { reply: Buffer }).reply = Buffer.concat([Buffer.from(r.ok ? '1 ' : '0 '), r.reply]);
    } catch (e) {
      this.counters.add('rpciErrors');
      throw hostError(e);
    }
    return data.length;
  }

  override read(fid: FidContext, offset: number, count: number): Uint8Array {
    return readBuf((fid.aux as { reply: Buffer }).reply, offset, count);
  }
}

/** One /net-style conversation: its directory `N`, its channel once `open`, and the fids holding it. */
class Conversation {
  channel: MessageChannel | null = null;
  protocol = 0;
  refs = 0;
  readonly dir: Dir;

  constructor(
    readonly n: number,
    private readonly port: BackdoorPort,
  ) {
    this.dir = new Dir(String(n), 0o555);
  }

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

  async open(protocolWord: string): Promise<void> {
    const proto = parseProtocol(protocolWord);
    if (proto === null) throw new CommandError('unknown protocol');
    if (this.channel) throw new CommandError('already open');
    try {
      this.channel = await MessageChannel.open(this.port, proto);
      this.protocol = proto;
    } catch (e) {
      throw hostError(e);
    }
  }

  async close(): Promise<void> {
    await this.channel?.close();
    this.channel = null;
  }
}

/** A conversation's ctl language (written to `N/ctl` or to the clone fid). */
const CONVERSATION_CTL = new CommandTable<Conversation>([
  { name: 'open', args: 1, run: ([proto], conv) => conv.open(proto!) },
  { name: 'close', args: 0, run: (_args, conv) => conv.close() },
]);

async function writeCtl(conv: Conversation, data: Uint8Array): Promise<number> {
  await CONVERSATION_CTL.runLines(Buffer.from(data).toString('utf8'), conv);
  return data.length;
}

/** `rpc/clone`: opening it makes a conversation; the fid reads as its number and writes as its ctl. */
class CloneFile extends File {
  constructor(private readonly rpcDir: RpcDir) {
    super('clone', 0o666);
  }
  override open(fid: FidContext): void {
    fid.aux = this.rpcDir.newConversation();
  }
  override read(fid: FidContext, offset: number, count: number): Uint8Array {
    return readBuf(Buffer.from(String((fid.aux as Conversation).n)), offset, count);
  }
  override write(fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    return writeCtl(fid.aux as Conversation, data);
  }
  override clunk(fid: FidContext): Promise<void> {
    return this.rpcDir.release(fid.aux as Conversation | undefined);
  }
}

/** What a fid of a conversation's file holds: the conversation, and `ctl`'s text as last read. */
interface ConversationFid {
  conv: Conversation;
  text?: Buffer;
}

/** The files of a conversation: each open holds it, each clunk lets it go. */
abstract class ConversationFile extends File {
  constructor(
    name: string,
    mode: number,
    protected readonly conv: Conversation,
    private readonly rpcDir: RpcDir,
  ) {
    super(name, mode);
  }
  override open(fid: FidContext): void {
    this.conv.refs++;
    fid.aux = { conv: this.conv } satisfies ConversationFid;
  }
  override clunk(fid: FidContext): Promise<void> {
    return this.rpcDir.release((fid.aux as ConversationFid | undefined)?.conv);
  }
}

/** `rpc/N/ctl`: reads `N proto state` (a status file: the text of the read at offset 0); writes `open rpci|tclo|0xN`, `close`. */
class ConversationCtlFile extends ConversationFile {
  constructor(conv: Conversation, rpcDir: RpcDir) {
    super('ctl', 0o664, conv, rpcDir);
  }
  override read(fid: FidContext, offset: number, count: number): Uint8Array {
    const a = fid.aux as ConversationFid;
    if (offset === 0 || a.text === undefined) a.text = Buffer.from(this.conv.describe());
    return readBuf(a.text, offset, count);
  }
  override write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    return writeCtl(this.conv, data);
  }
}

/** `rpc/N/data`: each write one message, each read one whole message. */
class ConversationDataFile extends ConversationFile {
  constructor(conv: Conversation, rpcDir: RpcDir) {
    super('data', 0o666, conv, rpcDir);
  }

  override async write(_fid: FidContext, _offset: number, bytes: Uint8Array): Promise<number> {
    const { channel } = this.conv;
    if (!channel) throw p9err(Errno.EIO, 'conversation not open (write open rpci|tclo|0xN to ctl)');
    try {
      await channel.send(bytes);
    } catch (e) {
      throw hostError(e);
    }
    return bytes.length;
  }

  override async read(
    _fid: FidContext,
    _offset: number,
    count: number,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    // One whole message per read; on TCLO wait (polling) until the host sends one.
    for (let delay = 10; ; delay = Math.min(delay * 2, 500)) {
      const { channel, protocol } = this.conv;
      if (!channel) throw p9err(Errno.EIO, 'conversation not open');
      let m: Buffer | null;
      try {
        m = await channel.receive();
      } catch (e) {
        throw hostError(e);
      }
      if (m) return m.subarray(0, count);
      if (protocol !== PROTOCOL_TCLO) return new Uint8Array(0);
      await abortableSleep(delay, signal);
    }
  }
}

export class RpcDir extends Dir {
  private next = 0;

  constructor(private readonly port: BackdoorPort) {
    super('rpc', 0o555);
    this.add(new CloneFile(this));
  }

  /** A new conversation `N`, held by the clone fid that made it. */
  newConversation(): Conversation {
    const conv = new Conversation(this.next++, this.port);
    conv.dir.add(new ConversationCtlFile(conv, this));
    conv.dir.add(new ConversationDataFile(conv, this));
    conv.refs++; // the clone fid
    this.add(conv.dir);
    return conv;
  }

  /** A fid let go of `conv`; the last one closes its channel and removes its directory. */
  async release(conv: Conversation | undefined): Promise<void> {
    if (!conv || --conv.refs > 0) return;
    await conv.channel?.close().catch(() => undefined);
    conv.channel = null;
    // The conversation is gone: its ctl and data go with it, then its directory.
    conv.dir.children.clear();
    if (this.children.get(conv.dir.name) === conv.dir) this.detach(conv.dir as Node);
  }
}
