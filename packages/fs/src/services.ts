/**
 * What the tree is built on, injected (the fs layer never loads native code): a BackdoorPort for
 * the simple commands, pointer, legacy clipboard and vmmouse; an RPCI sender; and, when an agent
 * runs a TCLO loop, an event source and hooks for power and time.
 */
import type { EventEmitter } from 'node:events';
import { type BackdoorPort, getClipboard, MAX_CLIPBOARD_SEND, setClipboard } from '@vmw9/backdoor';
import type { RpcSender } from '@vmw9/rpc';

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

/** Power requests the host makes over TCLO. */
export type PowerRequest = 'halt' | 'reboot' | 'poweron' | 'resume' | 'suspend';

/**
 * Events from the agent's TCLO loop: `event` (a line for the events file), `resolution` (width,
 * height), `power` (a PowerRequest). The fs tree only listens.
 */
export type EventSource = Pick<EventEmitter, 'on' | 'off'>;

export interface FsServices {
  port: BackdoorPort;
  rpc: RpcSender;
  /** Default: the legacy backdoor clipboard on `port`. */
  clipboard?: Clipboard;
  /** TCLO events (none when the tree is served alone, without an agent). */
  events?: EventSource;
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
}
