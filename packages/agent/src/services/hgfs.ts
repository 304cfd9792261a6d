/**
 * Shared folders as a service: it contributes `hgfs/` to the tree (docs/protocol/tree.md §17), an
 * HGFS client over its own small pool of RPCI channels ([hgfs] channels), shown with the [hgfs]
 * owners and masks. A host reset forgets the HGFS session (the next request makes a new one) and
 * every cached attribute; the agent's stop ends the session and closes the channels. With
 * [hgfs] enabled = false it contributes nothing and never asks the host.
 */
import { HgfsRoot } from '@vmw9/fs';
import { HgfsTransport } from '@vmw9/rpc';
import type { AgentService, ServiceContext } from '../service.js';

export function hgfsService(
  ctx: ServiceContext,
): AgentService & { readonly transport: HgfsTransport | null } {
  const c = ctx.config.hgfs;
  if (!c.enabled) return { name: 'hgfs', transport: null };
  const transport = new HgfsTransport(ctx.port, ctx.rpc, { channels: c.channels });
  const root = new HgfsRoot({
    client: transport.client,
    attrCacheMs: c.attrCacheMs,
    dmask: c.dmask,
    fmask: c.fmask,
    maxOpenFiles: c.maxOpenFiles,
    ...(c.uid === null ? {} : { uid: c.uid }),
    ...(c.gid === null ? {} : { gid: c.gid }),
  });
  return {
    name: 'hgfs',
    transport,
    files: [root],
    onReset() {
      transport.forgetSession();
      root.forgetCached();
      ctx.logger.debug('host reset: the HGFS session and cached attributes are forgotten');
    },
    settle: () => transport.close(),
  };
}
