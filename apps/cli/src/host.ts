/**
 * Resolves the global `--host native|sim|unix!PATH` into a BackdoorPort. The native addon is
 * imported lazily, so commands that do not touch a host never load it.
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import { CliError, Exit } from './exit.js';

export type HostSpec = { kind: 'native' } | { kind: 'sim' } | { kind: 'unix'; path: string };

export function parseHost(spec: string): HostSpec {
  if (spec === 'native') return { kind: 'native' };
  if (spec === 'sim') return { kind: 'sim' };
  const m = /^unix!(.+)$/.exec(spec);
  if (m) return { kind: 'unix', path: m[1]! };
  throw new CliError(
    `--host must be native, sim or unix!PATH (a Plan 9 dial string), got "${spec}"`,
    Exit.USAGE,
  );
}

export interface HostOptions {
  host?: string;
  force?: boolean;
}

/** Opens the chosen host, or explains why it cannot. */
export async function openHost(opts: HostOptions): Promise<{ port: BackdoorPort; description: string }> {
  const spec = parseHost(opts.host ?? 'native');
  if (spec.kind === 'sim') {
    const sim = await import('@vmw9/vmx-sim');
    return {
      port: new sim.SimBackdoorPort(new sim.VmxHost()),
      description: 'sim (an embedded simulated VMware host, not a real one)',
    };
  }
  if (spec.kind === 'unix') {
    const sim = await import('@vmw9/vmx-sim');
    try {
      return {
        port: await sim.SocketBackdoorPort.connect(`unix!${spec.path}`),
        description: `the simulated host at unix!${spec.path}`,
      };
    } catch (e) {
      throw new CliError((e as Error).message, Exit.FAILED);
    }
  }
  const native = await importNative();
  const d = native.detect({ force: opts.force === true });
  if (!d.available) throw new CliError(`no VMware backdoor: ${d.message}`, Exit.FAILED, { detection: d });
  return {
    port: native.NativeBackdoorPort.open({ force: opts.force === true }),
    description: `native (${d.message})`,
  };
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
