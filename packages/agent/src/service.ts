/**
 * An agent service: one job the agent does for the host, declared as data the core routes, in the
 * manner of a vmtoolsd plugin's registration. A service lives on one TCLO app channel; there it
 * answers its commands, registers its capabilities when the host says `Capabilities_Register`,
 * takes the `Set_Option` names it owns, and hears of the channel's `reset`. The core keeps
 * reset/ping/Capabilities_Register/Set_Option for itself and tells the services; nothing else of
 * TCLO reaches a service except through this shape (docs/protocol/guestrpc.md).
 */
import type { BackdoorPort } from '@vmw9/backdoor';
import type { DndSetTimer } from '@vmw9/dndcp';
import type { FsServices, HostEvent } from '@vmw9/fs';
import type { RpcSender, TcloHandler } from '@vmw9/rpc';
import type { Node } from 'ninep';
import type { Logger } from 'pino';
import type { AgentConfig } from './config.js';
import type { SetClock } from './timesync.js';

/**
 * A TCLO app channel, by the name the host sees in `OK ATR <app>`: `toolbox` is the system
 * service's channel (vmtoolsd's vmsvc), `toolbox-dnd` the user session's (vmusr).
 */
export type TcloApp = 'toolbox' | 'toolbox-dnd';

/** The system service's channel: the one every agent polls, where the core registers itself. */
export const SYSTEM_APP: TcloApp = 'toolbox';

/**
 * What a service does with an option the host set. A throw (or a rejection) refuses the value: the
 * host's answer is `ERROR <message>`, and the core neither records nor publishes it. A promise is
 * awaited before the host is answered, as vmtoolsd's plugins act inside the Set_Option handler.
 */
export type OptionHandler = (value: string, name: string) => void | Promise<void>;

/**
 * The tree's own files that a service feeds: `power` acknowledgements, `timectl` writes, the
 * copy/paste engine `snarf` and `clip/` use when it has version 4 negotiated, and `dnd/`.
 */
export type TreeHooks = Partial<Pick<FsServices, 'power' | 'timeSync' | 'copyPaste' | 'dnd'>>;

export interface AgentService {
  /** Unique among the agent's services; names it in logs and conflicts. */
  readonly name: string;
  /** The channel it lives on; default `toolbox`. */
  readonly app?: TcloApp;
  /**
   * The longest its channel's TCLO loop may wait between polls when idle (ms): how long a host
   * command for it can wait to be picked up. The channel polls at the smallest any of its
   * services asks for, or the loop's default (1 s) when none does.
   */
  readonly pollMaxMs?: number;
  /**
   * The longest answer its TCLO commands give, in bytes after `OK `, when it is over GuestMsg's
   * 64 KiB: its channel then sends messages that long (a host that negotiated large HGFS packets
   * takes them, docs/protocol/hgfs.md "Packet sizes"). The channel takes the largest its services ask.
   */
  readonly tcloReplyMax?: number;
  /** TCLO commands it answers on its channel: the command word → its handler. */
  readonly commands?: Readonly<Record<string, TcloHandler>>;
  /** Sent as `tools.capability.NAME VALUE` on its channel's Capabilities_Register; null: no value. */
  readonly capabilities?: Readonly<Record<string, string | number | null>>;
  /**
   * Capabilities_Register on its channel, after the `capabilities` above were sent: for those that
   * need a form of their own (a trailing NUL, a failure that must not fail the registration).
   */
  onCapabilities?(): Promise<void>;
  /** The Set_Option names it owns on its channel, each with what it does with the value. */
  readonly options?: Readonly<Record<string, OptionHandler>>;
  /** Files it adds at the tree's root (a name already there is an error at start). */
  readonly files?: readonly Node[];
  /** Hooks for the tree's own files. */
  readonly treeHooks?: TreeHooks;
  /** The agent is up: the tree served and the TCLO loops polling. */
  start?(): void;
  /** The host pinged its channel. */
  onPing?(): void;
  /** The host reset its channel and the core registered again: resend what the host forgot. */
  onReset?(): void | Promise<void>;
  /** The agent is stopping: end timers and start no new work. */
  stop?(): void;
  /** After every TCLO loop stopped: wait for work still running. */
  settle?(): Promise<void>;
}

/** Replacements for what services touch on the guest, given to Agent.start (tests inject them). */
export interface ServiceInjections {
  /** How the guest clock is set (default date -s); tests inject a recorder. */
  setClock?: SetClock;
  /** NTP daemon detection (default: scan /proc). */
  ntpActive?: () => Promise<string | null>;
  /** The guest clock (ms), default Date.now. */
  now?: () => number;
  /** The drag-and-drop engine's timers (default setTimeout, unref'd); tests fire them by hand. */
  dndSetTimer?: DndSetTimer;
}

/** What the core gives each service. */
export interface ServiceContext {
  readonly rpc: RpcSender;
  readonly port: BackdoorPort;
  readonly config: AgentConfig;
  readonly logger: Logger;
  /** The agent's event hub: what is published here reaches the tree (`events`, `wctl`, `power`). */
  readonly events: { publish(event: HostEvent): void };
  /** What the agent was started with that services use (tests inject a clock recorder). */
  readonly startOptions: ServiceInjections;
}

/** Makes a service for one agent. The factory is also the key `agent.service(factory)` finds it by. */
export type ServiceFactory<S extends AgentService = AgentService> = (ctx: ServiceContext) => S;
