/**
 * aux/vmwarefs' files, byte-compatible for old scripts: `gui` (the host GUI options, one
 * `name on|off` line each; write one such line to change one), `dev` (the host's device list)
 * and `msg` (a raw GuestMsg channel).
 */
import {
  type BackdoorPort,
  backdoorCall,
  Cmd,
  getGuiOptions,
  requireSupported,
  updateGuiOptions,
} from '@vmw9/backdoor';
import { MessageChannel } from '@vmw9/msgchan';
import { CommandError, CommandTable, Errno, type FidContext, File, p9err, readBuf } from 'ninep';
import { badArg, hostError } from './errors.js';
import { num11 } from './format.js';
import { parseProtocol } from './rpcfiles.js';
import { SnapshotFile } from './text.js';

const GUI_OPTIONS: ReadonlyArray<[string, number]> = [
  ['autograb', 0x1],
  ['autorelease', 0x2],
  ['autoscroll', 0x4],
  ['autoraise', 0x8],
  ['copypaste', 0x10],
  ['hidecursor', 0x20],
  ['fullscreen', 0x40],
  ['tofullscreen', 0x80],
  ['towindow', 0x100],
  ['autoraise-disabled', 0x200],
  ['synctime', 0x400],
];

export class GuiFile extends SnapshotFile {
  // aux/vmwarefs answers every malformed line the same way: `bad gui ctl: "line"`.
  private readonly commands = new CommandTable<void>(
    GUI_OPTIONS.map(([name, bit]) => ({
      name,
      args: 1,
      run: ([v]: string[]) => {
        if (v !== 'on' && v !== 'off') throw new CommandError('bad gui ctl');
        return this.setOption(bit, v === 'on');
      },
    })),
    { unknown: 'bad gui ctl', badArgs: 'bad gui ctl', empty: 'bad gui ctl' },
  );

  constructor(private readonly port: BackdoorPort) {
    super('gui', 0o664);
  }

  protected override async snapshot(): Promise<string> {
    const bits = await getGuiOptions(this.port);
    return GUI_OPTIONS.map(([n, b]) => `${n} ${bits & b ? 'on' : 'off'}\n`).join('');
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    await this.commands.runLine(Buffer.from(data).toString('utf8'), undefined);
    return data.length;
  }

  private async setOption(bit: number, on: boolean): Promise<void> {
    try {
      await updateGuiOptions(this.port, (bits) => (on ? bits | bit : bits & ~bit));
    } catch (e) {
      throw hostError(e);
    }
  }
}

export class DevFile extends SnapshotFile {
  constructor(private readonly port: BackdoorPort) {
    super('dev', 0o444);
  }

  protected override async snapshot(): Promise<string> {
    // GETDEVICELISTELEMENT (11): a record per device fetched 4 bytes at a time: a NUL-padded name
    // of 32 bytes then a 32-bit enabled flag (aux/vmwarefs; UNCONFIRMED beyond it).
    const lines: string[] = [];
    for (let id = 0; id < 100; id++) {
      const rec = Buffer.alloc(36);
      for (let off = 0; off < 36; off += 4) {
        const r = await backdoorCall(this.port, Cmd.GETDEVICELISTELEMENT, { ebx: ((id << 16) | off) >>> 0 });
        requireSupported(Cmd.GETDEVICELISTELEMENT, r);
        if (r.eax === 0) return lines.join('');
        rec.writeUInt32LE(r.ebx, off);
      }
      const name = rec.subarray(0, 32).toString('latin1').replace(/\0.*$/s, '');
      lines.push(`${num11(id)}'${name.replace(/'/g, "''")}' ${rec.readUInt32LE(32) ? 'on' : 'off'}\n`);
    }
    return lines.join('');
  }
}

interface MsgFid {
  channel?: MessageChannel;
  last?: Buffer;
}

/** aux/vmwarefs' `msg` file (§10.4): the first write names the protocol, later writes send. */
export class MsgFile extends File {
  constructor(private readonly port: BackdoorPort) {
    super('msg', 0o666);
  }

  override open(fid: FidContext): void {
    fid.aux = {} satisfies MsgFid;
  }

  override async write(fid: FidContext, offset: number, data: Uint8Array): Promise<number> {
    const a = fid.aux as MsgFid;
    if (offset !== 0) throw badArg('must write at offset zero');
    if (!a.channel) {
      const proto = parseProtocol(Buffer.from(data).toString('utf8').trim().toLowerCase());
      if (proto === null) throw badArg('bad message channel number');
      try {
        a.channel = await MessageChannel.open(this.port, proto);
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
  }

  /** A read at offset 0 receives the next message (`no messages waiting` when none). */
  override async read(fid: FidContext, offset: number, count: number): Promise<Uint8Array> {
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
  }

  override async clunk(fid: FidContext): Promise<void> {
    await (fid.aux as MsgFid | undefined)?.channel?.close().catch(() => undefined);
  }
}
