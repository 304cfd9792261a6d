/**
 * What the tree is built on, injected (the fs layer never loads native code): a BackdoorPort for
 * the simple commands, pointer, legacy clipboard and vmmouse; an RPCI sender; and, when an agent
 * runs a TCLO loop, an event source and hooks for power and time.
 */
import { type BackdoorPort, getClipboard, MAX_CLIPBOARD_SEND, setClipboard } from '@vmw9/backdoor';
import type { PowerStateName, RpcSender } from '@vmw9/rpc';
import type { HgfsTreeOptions } from './hgfs/index.js';
import type { HostEventSource } from './host-events.js';

/** The host clipboard. Today the legacy backdoor protocol; the RPC copy/paste protocol later. */
export interface Clipboard {
  /** The host's clipboard (what a paste in the guest gets). */
  get(): Promise<Buffer>;
  /** Sets the host clipboard (a copy in the guest). */
  set(data: Buffer): Promise<void>;
  /** Largest text `set` accepts. */
  readonly maxBytes: number;
}

/** The clipboard over the legacy backdoor commands 6–9 (copyPasteCompat.c). */
export class LegacyClipboard implements Clipboard {
  readonly maxBytes = MAX_CLIPBOARD_SEND;
  constructor(private readonly port: BackdoorPort) {}
  async get(): Promise<Buffer> {
    return Buffer.from(await getClipboard(this.port));
  }
  async set(data: Buffer): Promise<void> {
    await setClipboard(this.port, data);
  }
}

/** Power requests the host makes over TCLO: the power state names (kept under the older name). */
export type PowerRequest = PowerStateName;

export interface FsServices {
  port: BackdoorPort;
  rpc: RpcSender;
  /** Default: the legacy backdoor clipboard on `port`. */
  clipboard?: Clipboard;
  /** What the agent's TCLO loop learns from the host (none when the tree is served alone). */
  events?: HostEventSource;
  /** How the host is reached, for `version` (e.g. `native`, `sim (embedded simulated host)`). */
  transport: string;
  agent?: { name: string; version: string };
  /** The agent's answer to a pending power request (`power` writes). */
  power?: { acknowledge(ok: boolean, reason?: string): Promise<void> | void };
  /** The agent's time sync (`timectl` writes): `sync`, `sync on|off`. */
  timeSync?: (args: string[]) => Promise<void> | void;
  /** The agent's recent diagnostics, for `kmesg`. */
  kmesg?: () => string;
  /** How often event files poll the host where it gives no notification (defaults: 20 ms, 500 ms). */
  poll?: { mouseMs?: number; snarfMs?: number };
  /**
   * The host's shared folders: with an HGFS client the tree has `hgfs/` (docs/protocol/tree.md
   * §17); without one it has none. (The agent contributes its `hgfs/` as a service's file instead.)
   */
  hgfs?: HgfsTreeOptions;
}
