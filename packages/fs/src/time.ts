/**
 * Time from the host: `time` (the 78-byte /dev/time record), `bintime` (#c/bintime's 24 bytes)
 * and `timectl` (`stopcatchup`; `sync [on|off]`, which is the agent's to do).
 */
import { type BackdoorPort, backdoorCall, Cmd, getHostTime, requireSupported } from '@vmw9/backdoor';
import { CommandError, CommandTable, Errno, type FidContext, File, p9err, readBuf } from 'ninep';
import { hostError } from './errors.js';
import { bintimeRecord, timeRecord } from './format.js';
import type { FsServices } from './services.js';
import { SnapshotFile } from './text.js';

async function hostNs(port: BackdoorPort): Promise<bigint> {
  const t = await getHostTime(port);
  return BigInt(t.seconds) * 1_000_000_000n + BigInt(t.microseconds) * 1000n;
}

export class TimeFile extends SnapshotFile {
  constructor(private readonly port: BackdoorPort) {
    super('time', 0o444);
  }
  protected override async snapshot(): Promise<string> {
    return timeRecord(await hostNs(this.port));
  }
}

export class BintimeFile extends File {
  constructor(private readonly port: BackdoorPort) {
    super('bintime', 0o444);
  }
  override async read(_fid: FidContext, offset: number, count: number): Promise<Uint8Array> {
    // #c/bintime ignores the offset; Plan 9's nsec() preads at 0. Past the 24 bytes is EOF, so
    // `cat` terminates; any read below that is a fresh sample from that position.
    if (offset >= 24) return new Uint8Array(0);
    try {
      return readBuf(bintimeRecord(await hostNs(this.port)), offset, count);
    } catch (e) {
      throw hostError(e);
    }
  }
}

export class TimectlFile extends File {
  // An older wording kept: a wrong argument count is `unknown control message` here.
  private readonly commands = new CommandTable<void>(
    [
      {
        name: 'stopcatchup',
        args: 0,
        run: async () => {
          try {
            requireSupported(Cmd.STOPCATCHUP, await backdoorCall(this.port, Cmd.STOPCATCHUP));
          } catch (e) {
            throw hostError(e);
          }
        },
      },
      {
        name: 'sync',
        args: { max: 1 },
        run: async (args) => {
          if (args.length === 1 && args[0] !== 'on' && args[0] !== 'off')
            throw new CommandError('unknown control message');
          if (!this.timeSync)
            throw p9err(
              Errno.EOPNOTSUPP,
              "setting the guest clock is the agent's job (vmw9 agent); this tree is served alone",
            );
          await this.timeSync(args);
        },
      },
    ],
    { badArgs: 'unknown control message' },
  );

  constructor(
    private readonly port: BackdoorPort,
    private readonly timeSync: FsServices['timeSync'],
  ) {
    super('timectl', 0o222);
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    await this.commands.runLine(Buffer.from(data).toString('utf8'), undefined);
    return data.length;
  }
}
