/**
 * Resolves the global `--host native|sim|unix!PATH` into a BackdoorPort. The native addon is
 * imported lazily, so commands that do not touch a host never load it.
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import { DialError, parseDial } from 'ninep/dial';
import { CliError, Exit } from './exit.js';

export type HostSpec = { kind: 'native' } | { kind: 'sim' } | { kind: 'unix'; path: string };

export function parseHost(spec: string): HostSpec {
  if (spec === 'native') return { kind: 'native' };
  if (spec === 'sim') return { kind: 'sim' };
  const bad = () =>
    new CliError(`--host must be native, sim or unix!PATH (a Plan 9 dial string), got "${spec}"`, Exit.USAGE);
  let addr: ReturnType<typeof parseDial>;
  try {
    addr = parseDial(spec, { bare: false });
  } catch (e) {
    if (e instanceof DialError) throw bad();
    throw e;
  }
  if (addr.net !== 'unix') throw bad();
  return { kind: 'unix', path: addr.path };
}

export interface HostOptions {
  host?: string;
  force?: boolean;
}

/**
 * Opens the chosen host, or explains why it cannot. The choosing is the agent's openTransport
 * (one place for native detection, the embedded simulator and unix!PATH); only the command-line
 * check above is the CLI's own, so a malformed --host is a usage error (exit 2).
 */
export async function openHost(opts: HostOptions): Promise<{ port: BackdoorPort; description: string }> {
  const spec = parseHost(opts.host ?? 'native');
  const { openTransport, TransportError } = await import('@vmw9/agent/transport');
  const choice = spec.kind === 'unix' ? (`unix!${spec.path}` as const) : spec.kind;
  try {
    const t = await openTransport(choice, undefined, { force: opts.force === true });
    return { port: t.port, description: t.description };
  } catch (e) {
    if (e instanceof TransportError) throw new CliError(e.message, Exit.FAILED);
    throw e;
  }
}

export async function importNative(): Promise<typeof import('@vmw9/backdoor-native')> {
  try {
    return await import('@vmw9/backdoor-native');
  } catch (e) {
    throw new CliError(
      `the native backdoor package @vmw9/backdoor-native is not installed (${(e as Error).message}); ` +
        'install it, or use --host sim',
      Exit.FAILED,
    );
  }
}
