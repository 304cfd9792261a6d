/** Serves the tree with ninep: a Unix socket (mode 0600) at the default address unless told otherwise. */

import { formatDial, isLocalOnly, NinepServer, parseDial } from 'ninep';
import { prepareDefaultTreeSocket } from './socket.js';
import type { VmwareTree } from './tree.js';

/**
 * The largest msize the tree grants: what `vmw9 mount` asks of Linux. Each connection may hold one
 * frame of this size while it arrives, and 256 connections (ninep's maxConnections) of 1 MiB
 * frames would be 256 MB, the agent unit's whole MemoryMax (docs/man/vmware.4, BOUNDS); at
 * 256 KiB they are 64 MB. 256 KiB rather than Linux's default 128 KiB for the shared folders:
 * `cp` writes 128 KiB at a time, which at msize 128 KiB (an I/O unit 24 bytes short of it) Linux
 * splits into two Twrites, two HGFS WRITEs; and each 9P read or write of a host file is one more
 * round trip.
 */
export const TREE_MSIZE = 262144;

export interface ServeOptions {
  /** A dial string (`unix!PATH`, `tcp!HOST!PORT`) or a socket path; default the tree's socket (./socket.ts). */
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
    msize: TREE_MSIZE,
    ...(opts.log ? { log: opts.log } : {}),
    // `stats` counts what the server sees (docs/protocol/tree.md §11).
    observer: {
      connection: () => tree.counters.add('connections'),
      request: () => tree.counters.add('requests'),
    },
  });
  const listen = opts.listen ?? formatDial({ net: 'unix', path: prepareDefaultTreeSocket() });
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
