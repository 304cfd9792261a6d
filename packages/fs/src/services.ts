/**
 * What the tree is built on, injected (the fs layer never loads native code): a BackdoorPort for
 * the simple commands, pointer, legacy clipboard and vmmouse; an RPCI sender; and, when an agent
 * runs a TCLO loop, an event source, hooks for power and time, and its copy/paste engine.
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import type { CopyPasteGuest } from '@vmw9/dndcp';
import type { PowerStateName, RpcSender } from '@vmw9/rpc';
import type { Clipboard } from './clipboard.js';
import type { DndTreeSource } from './dnd.js';
import type { HgfsTreeOptions } from './hgfs/index.js';
import type { HostEventSource } from './host-events.js';
import type { MemSources, SetTimer } from './mem.js';

/** Power requests the host makes over TCLO: the power state names (kept under the older name). */
export type PowerRequest = PowerStateName;

export interface FsServices {
  port: BackdoorPort;
  rpc: RpcSender;
  /**
   * The agent's copy/paste engine (docs/protocol/dndcp.md §6): with it, `snarf` and `clip/` use
   * copy/paste version 4 whenever the engine has it negotiated, the legacy clipboard otherwise.
   */
  copyPaste?: CopyPasteGuest;
  /**
   * The agent's drag and drop: with it the tree has `dnd/` (docs/protocol/tree.md §18), and each
   * of its records is also a `dnd …` line in `events`.
   */
  dnd?: DndTreeSource;
  /** Replaces the clipboard altogether. Default: the legacy backdoor clipboard on `port`, and `copyPaste`. */
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
  /**
   * How often event files poll the host where it gives no notification (defaults: 20 ms, 500 ms;
   * `memMs`, the balloon and session watch behind `events`, 5 s).
   */
  poll?: { mouseMs?: number; snarfMs?: number; memMs?: number };
  /**
   * `mem/`'s sources (docs/protocol/tree.md §19). Defaults: a GuestLibClient on `rpc`, the balloon
   * driver's statistics at /sys/kernel/debug/vmmemctl, real timers.
   */
  mem?: Partial<MemSources> & { setTimer?: SetTimer };
  /**
   * The host's shared folders: with an HGFS client the tree has `hgfs/` (docs/protocol/tree.md
   * §17); without one it has none. (The agent contributes its `hgfs/` as a service's file instead.)
   */
  hgfs?: HgfsTreeOptions;
}
