/**
 * `vmw9 timesync status|enable|disable`, as `vmware-toolbox-cmd timesync` has them
 * (docs/protocol/guestrpc.md §11.1): the host's `synctime` option is read from the GETGUIOPTIONS
 * bit and changed with `vmx.set_option synctime OLD NEW`; the host then tells the tools
 * (`Set_Option synctime`), which is how a running agent's periodic sync follows.
 */
import { CliError, Exit } from '../exit.js';
import { type HostOptions, openHost } from '../host.js';
import { type Output, printJson } from '../output.js';

/** GETGUIOPTIONS bit for periodic time sync (docs/protocol/guestrpc.md §11.1). */
export const GUI_SYNC_TIME = 0x400;
/** sysexits.h EX_UNAVAILABLE: what toolbox-cmd's `timesync status` returns when sync is off. */
export const EX_UNAVAILABLE = 69;

const SUBCOMMANDS = ['status', 'enable', 'disable'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

export async function timesyncCommand(o: Output, sub: string, opts: HostOptions): Promise<number> {
  if (!SUBCOMMANDS.includes(sub as Subcommand))
    throw new CliError(`unknown timesync subcommand "${sub}" (${SUBCOMMANDS.join(', ')})`, Exit.USAGE);
  const [b, rpcMod] = await Promise.all([import('@vmw9/backdoor'), import('@vmw9/rpc')]);
  const { port } = await openHost(opts);
  const rpc = rpcMod.RpciClient.overPort(port);
  try {
    const enabled = ((await b.getGuiOptions(port)) & GUI_SYNC_TIME) !== 0;
    const report = (on: boolean, code: number) => {
      if (o.json) printJson(o, { synctime: on });
      else o.out(on ? 'Enabled' : 'Disabled');
      return code;
    };
    if (sub === 'status') return report(enabled, enabled ? Exit.OK : EX_UNAVAILABLE);
    const want = sub === 'enable';
    // Already as asked: toolbox-cmd says so without asking the host to change anything.
    if (enabled === want) return report(want, Exit.OK);
    const r = await rpc.send(`vmx.set_option synctime ${want ? '0 1' : '1 0'}`);
    if (!r.ok) {
      // toolbox-cmd's own wording, on standard error, exit 1.
      if (o.json) printJson(o, { error: r.text });
      else o.err(`Error: ${r.text}`);
      return Exit.FAILED;
    }
    return report(want, Exit.OK);
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof b.UnsupportedCommand)
      throw new CliError(`${e.message} (no such service on this host)`, Exit.FAILED);
    throw new CliError((e as Error).message, Exit.FAILED);
  } finally {
    await rpc.close().catch(() => undefined);
    await port.close?.();
  }
}
