/**
 * `ctl` (the tree's switches: a read lists them, each line written sets one; `clipboard` is shown
 * only) and `version`.
 */
import { type BackdoorPort, getVersion } from '@vmw9/backdoor';
import { type RpcSender, setCapability } from '@vmw9/rpc';
import { CommandError, CommandTable, type EofMode, type FidContext, intArg } from 'ninep';
import type { Clipboard } from './clipboard.js';
import { hostError } from './errors.js';
import type { MouseSource } from './mouse.js';
import type { FsServices } from './services.js';
import { SnapshotFile } from './text.js';

export const FS_VERSION = '0.1.0';

/** The largest `debug` level: a 16-bit level, so it always reads back as written. */
const DEBUG_MAX = 65_535;

/** The switches `ctl` shows and sets that are not another file's. */
export interface TreeSettings {
  readonly eofmode: EofMode;
  debug: number;
  /** Whether an agent's TCLO loop feeds the tree (fixed when the tree is built). */
  readonly tclo: 'on' | 'off';
}

/** What `ctl` reaches. */
export interface CtlTargets {
  port: BackdoorPort;
  rpc: RpcSender;
  settings: TreeSettings;
  snarf: { enabled: boolean };
  /** The protocol it uses now is shown (`clipboard v4 …` / `clipboard legacy`). */
  clipboard: Clipboard;
  mouse: MouseSource;
  /** Drops every client (`ctl hangup`); called after the write is answered. */
  hangup(): void;
}

const onOff = (v: string | undefined): boolean => {
  if (v !== 'on' && v !== 'off') throw new CommandError('bad # args to command');
  return v === 'on';
};

export class TreeCtlFile extends SnapshotFile {
  private readonly commands: CommandTable<void>;

  constructor(private readonly t: CtlTargets) {
    super('ctl', 0o664);
    this.commands = new CommandTable<void>([
      {
        name: 'snarf',
        args: 1,
        run: ([v]) => {
          t.snarf.enabled = onOff(v);
        },
      },
      {
        name: 'mouse',
        args: 1,
        run: async ([mode]) => {
          if (mode !== 'absolute' && mode !== 'relative' && mode !== 'off')
            throw new CommandError('bad # args to command');
          t.mouse.mode = mode;
          await t.mouse.reset();
        },
      },
      {
        name: 'eofmode',
        args: 1,
        run: ([v]) => {
          t.settings.eofmode.on = onOff(v);
        },
      },
      {
        name: 'debug',
        args: 1,
        run: ([level]) => {
          t.settings.debug = intArg(level, 0, DEBUG_MAX);
        },
      },
      {
        name: 'capability',
        args: { min: 1 },
        run: async ([name, ...value]) => {
          try {
            await setCapability(t.rpc, name!, value.length > 0 ? value.join(' ') : null);
          } catch (e) {
            throw e instanceof TypeError ? new CommandError(e.message) : hostError(e);
          }
        },
      },
      { name: 'hangup', args: 0, run: () => void setImmediate(() => t.hangup()) },
      ...['tclo', 'reset'].map((name) => ({
        name,
        run: () => {
          throw new CommandError(
            'the TCLO loop belongs to the agent (vmw9 agent); this tree is served alone',
          );
        },
      })),
    ]);
  }

  /** The settings at a read at offset 0; later offsets slice that text (§1, status files). */
  protected override async snapshot(): Promise<string> {
    const { settings, snarf, mouse } = this.t;
    const backdoor = await getVersion(this.t.port).then(
      () => 'ok',
      () => 'unavailable',
    );
    return [
      `backdoor ${backdoor}`,
      `snarf ${snarf.enabled ? 'on' : 'off'}`,
      `clipboard ${this.t.clipboard.current().describe()}`,
      `mouse ${mouse.mode}`,
      `tclo ${settings.tclo}`,
      `eofmode ${settings.eofmode.on ? 'on' : 'off'}`,
      `debug ${settings.debug}`,
      '',
    ].join('\n');
  }

  override async write(_fid: FidContext, _offset: number, data: Uint8Array): Promise<number> {
    await this.commands.runLines(Buffer.from(data).toString('utf8'), undefined);
    return data.length;
  }
}

export class VersionFile extends SnapshotFile {
  constructor(
    private readonly port: BackdoorPort,
    private readonly s: Pick<FsServices, 'agent' | 'transport'>,
    private readonly clipboard: Clipboard,
  ) {
    super('version', 0o444);
  }

  protected override async snapshot(): Promise<string> {
    const lines = [
      `agent ${this.s.agent?.name ?? 'vmw9-fs'} ${this.s.agent?.version ?? FS_VERSION}`,
      'protocol 9P2000 9P2000.u 9P2000.L',
      `transport ${this.s.transport}`,
      `clipboard ${this.clipboard.current().describe()}`,
    ];
    try {
      const v = await getVersion(this.port);
      lines.push(`backdoor ${v.version}`, `host ${v.productName} (type ${v.productType})`);
    } catch {
      lines.push('backdoor unavailable');
    }
    return `${lines.join('\n')}\n`;
  }
}
