/** Serves the tree with ninep: a Unix socket (mode 0600) in a runtime directory unless told otherwise. */

import { join } from 'node:path';
import { formatDial, isLocalOnly, NinepServer, parseDial, runtimeDir } from 'ninep';
import type { VmwareTree } from './tree.js';

export interface ServeOptions {
  /** A dial string (`unix!PATH`, `tcp!HOST!PORT`); default a Unix socket in the runtime directory. */
  listen?: string;
  log?: (line: string) => void;
}

export interface ServedTree {
  server: NinepServer;
  address: string;
  /** Set when the tree is reachable from other machines: what to tell the user (README, security model). */
  warning: string | null;
  close(): Promise<void>;
}

export async function serveVmwareTree(tree: VmwareTree, opts: ServeOptions = {}): Promise<ServedTree> {
  // Who may connect is decided by the socket (mode 0600 by default; TCP only when asked), as with
  // aux/vmwarefs: per-user Plan 9 permission checks would refuse every attach user but `vmware`.
  // The modes still show what each file is for, and read-only files refuse writes themselves.
  const server = new NinepServer({
    root: tree.root,
    permissions: false,
    ...(opts.log ? { log: opts.log } : {}),
    // `stats` counts what the server sees (docs/protocol/tree.md §11).
    observer: {
      connection: () => tree.counters.add('connections'),
      request: () => tree.counters.add('requests'),
    },
  });
  const listen = opts.listen ?? formatDial({ net: 'unix', path: join(runtimeDir(), 'vmware.sock') });
  const listener = await server.listen(listen);
  tree.onHangup = () => {
    for (const c of server.connections) c.close();
  };
  return {
    server,
    address: listener.address,
    warning: exposureWarning(listener.address),
    async close() {
      // Drop the connections first: a listener's close waits for open connections to end.
      for (const c of server.connections) c.close();
      await Promise.all([listener.close(), server.close()]);
      tree.close();
    },
  };
}

/** The warning for an address other machines can reach: every file is theirs once they connect. */
export function exposureWarning(address: string): string | null {
  if (isLocalOnly(parseDial(address))) return null;
  return `${address} is reachable from other machines: anyone who connects can read the clipboard, set guestinfo and answer power requests (listen on unix!PATH or tcp!127.0.0.1!PORT unless that is meant)`;
}
