/**
 * `vmw9 serve`: the /mnt/vmware tree alone (no TCLO loop), the host's shared folders (hgfs/)
 * included, over 9P, on the chosen --host. A Unix
 * socket, the tree's default (mode 0600, in a private directory; the path is printed), TCP only
 * when asked. Runs until SIGINT/SIGTERM, then closes every connection and the socket.
 */
import { CliError, Exit } from '../exit.js';
import { type HostOptions, openHost } from '../host.js';
import { stopped, stopSignal } from '../lifecycle.js';
import type { Output } from '../output.js';
import { type TraceOptions, traceOption } from '../trace.js';

export async function serveCommand(
  o: Output,
  opts: HostOptions & TraceOptions & { listen?: string },
): Promise<number> {
  const [rpcMod, fs] = await Promise.all([import('@vmw9/rpc'), import('@vmw9/fs')]);
  const { port, description } = await openHost(opts);
  const rpc = rpcMod.RpciClient.overPort(port, traceOption(opts, rpcMod));
  // The host's shared folders (hgfs/): HGFS on a pool of its own RPCI channels.
  const hgfs = new rpcMod.HgfsTransport(port, rpc, traceOption(opts, rpcMod));
  const tree = fs.buildVmwareTree({ port, rpc, transport: description, hgfs: { client: hgfs.client } });
  let served: Awaited<ReturnType<typeof fs.serveVmwareTree>>;
  try {
    served = await fs.serveVmwareTree(tree, {
      ...(opts.listen ? { listen: opts.listen } : {}),
      log: (l) => o.err(`vmw9 serve: ${l}`),
    });
  } catch (e) {
    throw new CliError(
      `cannot listen on ${opts.listen ?? 'the default socket'}: ${(e as Error).message}`,
      Exit.FAILED,
    );
  }
  o.err(`vmw9 serve: the /mnt/vmware tree for ${description} is served on ${served.address}`);
  if (served.warning) o.err(`vmw9 serve: warning: ${served.warning}`);
  if (o.json) o.out(JSON.stringify({ address: served.address, host: description }));
  await stopped(stopSignal());
  await served.close();
  await hgfs.close().catch(() => undefined);
  await rpc.close().catch(() => undefined);
  await port.close?.();
  o.err('vmw9 serve: stopped');
  return Exit.OK;
}
