/**
 * `power`: the host's pending power request as an event file (`none` or a state name, the first
 * read at once, each later one at the next change); writing `ok [reason]` or `fail [reason]`
 * answers it through the agent. docs/protocol/tree.md.
 */
import type { PowerStateName } from '@vmw9/rpc';
import { CommandTable, type EofMode, Errno, type FidContext, p9err } from 'ninep';
import type { FsServices } from './services.js';
import { Watched, WatchedFile } from './text.js';

export class PowerFile extends WatchedFile<PowerStateName | 'none'> {
  readonly request = new Watched<PowerStateName | 'none'>('none');
  protected readonly watched = this.request;
  private readonly commands = new CommandTable<void>(
    ['ok', 'fail'].map((name) => ({ name, run: (args: string[]) => this.answer(name === 'ok', args) })),
  );

  constructor(
    private readonly agent: FsServices['power'],
    eofmode: EofMode,
  ) {
    super('power', 0o664, undefined, eofmode);
  }

  /** The host asks for a power operation (TCLO OS_Halt, OS_Reboot, …). */
  hostRequest(state: PowerStateName): void {
    this.request.set(state);
  }

  protected override record(v: PowerStateName | 'none'): string {
    return `${v}\n`;
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    await this.commands.runLine(Buffer.from(data).toString('utf8'), undefined);
    return data.length;
  }

  private async answer(ok: boolean, reason: string[]): Promise<void> {
    if (this.request.value === 'none') throw p9err(Errno.EINVAL, 'no power request is pending');
    if (!this.agent) throw p9err(Errno.EOPNOTSUPP, 'power requests are answered by the agent (vmw9 agent)');
    await this.agent.acknowledge(ok, reason.join(' ') || undefined);
    this.request.set('none');
  }
}
