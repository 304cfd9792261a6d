/**
 * Chooses how the agent reaches its host: the native backdoor when detection finds VMware, else
 * the embedded simulated host (said plainly: it is not a real VMware host), or a simulated host
 * in another process (`unix!PATH`). The native package is imported only when it may be used, so
 * an agent on the simulator never loads the addon. The vmw9 CLI resolves its `--host` here too
 * (through the light `@vmw9/agent/transport` entry point, which loads nothing else of the agent).
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import type { VmxHost } from '@vmw9/vmx-sim';
import { dialNet } from 'ninep/dial';
import { TransportError } from './errors.js';

export { TransportError };

export type HostChoice = 'native' | 'sim' | `unix!${string}`;

export interface Transport {
  port: BackdoorPort;
  kind: 'native' | 'sim' | 'unix';
  /** For /version and the log: how the host is reached. */
  description: string;
  /** The embedded simulated host, when that is what runs. */
  simHost?: VmxHost;
  /** Why the native backdoor was not used, when the choice was automatic. */
  fallbackReason?: string;
  close(): Promise<void>;
}

export const EMBEDDED_SIM = 'sim (the embedded simulated host, not a real VMware host)';

export interface TransportOptions {
  /** Probe the native backdoor whatever the CPU says (QEMU vmport guests); see @vmw9/backdoor-native. */
  force?: boolean;
}

export async function openTransport(
  host: HostChoice | undefined,
  simHost?: VmxHost,
  opts: TransportOptions = {},
): Promise<Transport> {
  if (host === 'sim') return embedded(simHost);
  if (host !== undefined && dialNet(host) === 'unix') {
    const sim = await import('@vmw9/vmx-sim');
    try {
      const port = await sim.SocketBackdoorPort.connect(host);
      return {
        port,
        kind: 'unix',
        description: `sim at ${port.address} (a simulated host in another process, not a real VMware host)`,
        close: () => port.close(),
      };
    } catch (e) {
      // SocketBackdoorPort's message already names the address and says what to start.
      throw new TransportError((e as Error).message);
    }
  }
  if (host !== undefined && host !== 'native')
    throw new TransportError(`host must be native, sim or unix!PATH, got ${JSON.stringify(host)}`);
  let native: typeof import('@vmw9/backdoor-native');
  try {
    native = await import('@vmw9/backdoor-native');
  } catch (e) {
    if (host === 'native')
      throw new TransportError(`the native backdoor package is not installed: ${(e as Error).message}`);
    return { ...(await embedded(simHost)), fallbackReason: 'the native backdoor package is not installed' };
  }
  const d = native.detect({ force: opts.force === true });
  if (!d.available) {
    if (host === 'native') throw new TransportError(`no VMware backdoor: ${d.message}`);
    return { ...(await embedded(simHost)), fallbackReason: d.message };
  }
  return {
    port: native.NativeBackdoorPort.open({ force: opts.force === true }),
    kind: 'native',
    description: `native (${d.message})`,
    close: async () => {},
  };
}

async function embedded(given?: VmxHost): Promise<Transport> {
  const sim = await import('@vmw9/vmx-sim');
  const simHost = given ?? new sim.VmxHost();
  return {
    port: new sim.SimBackdoorPort(simHost),
    kind: 'sim',
    description: EMBEDDED_SIM,
    simHost,
    close: async () => {},
  };
}
