/**
 * The core's routing table, built once from the services: which services live on each TCLO app
 * channel, who answers each command, who owns each option, which capabilities, tree hooks and
 * files they bring. Two services claiming the same thing is a ServiceConflict when the agent
 * starts, never a silent override.
 */
import { TcloCommand } from '@vmw9/backdoor';
import type { TcloHandler } from '@vmw9/rpc';
import type { Node } from 'ninep';
import { ServiceConflict } from './errors.js';
import {
  type AgentService,
  type OptionHandler,
  SYSTEM_APP,
  type TcloApp,
  type TreeHooks,
} from './service.js';

/** The commands the core answers itself on every channel (and tells the services about). */
export const CORE_COMMANDS: readonly string[] = Object.values(TcloCommand);
/** The capabilities the core registers itself on the system channel. */
export const CORE_CAPABILITIES: readonly string[] = ['guest_conf_directory'];
const CORE = 'the agent core';

export class Routes {
  /** The channels that get a TCLO loop: `toolbox` always, then each one a service lives on. */
  readonly apps: readonly TcloApp[];
  readonly treeHooks: TreeHooks = {};
  /** The files the services add at the tree's root. */
  readonly files: Node[] = [];
  private readonly byApp = new Map<TcloApp, AgentService[]>();
  /** What is claimed → who has it (`the service "NAME"` or the core). */
  private readonly owners = new Map<string, string>(CORE_CAPABILITIES.map((c) => [`capability ${c}`, CORE]));

  constructor(readonly services: readonly AgentService[]) {
    this.byApp.set(SYSTEM_APP, []);
    for (const s of services) {
      this.claim('its name', `name ${s.name}`, s);
      const app = s.app ?? SYSTEM_APP;
      for (const c of Object.keys(s.commands ?? {})) {
        if (CORE_COMMANDS.includes(c)) throw new ServiceConflict(s.name, `the command ${c}`, CORE);
        this.claim(`the command ${c} on ${app}`, `${app} command ${c}`, s);
      }
      for (const o of Object.keys(s.options ?? {}))
        this.claim(`the option ${o} on ${app}`, `${app} option ${o}`, s);
      for (const c of Object.keys(s.capabilities ?? {}))
        this.claim(`the capability ${c}`, `capability ${c}`, s);
      for (const f of s.files ?? []) {
        this.claim(`the file ${f.name}`, `file ${f.name}`, s);
        this.files.push(f);
      }
      for (const [k, hook] of Object.entries(s.treeHooks ?? {})) {
        this.claim(`the tree hook ${k}`, `hook ${k}`, s);
        Object.assign(this.treeHooks, { [k]: hook });
      }
      const list = this.byApp.get(app) ?? [];
      list.push(s);
      this.byApp.set(app, list);
    }
    this.apps = [...this.byApp.keys()];
  }

  servicesOn(app: TcloApp): readonly AgentService[] {
    return this.byApp.get(app) ?? [];
  }

  commandsOn(app: TcloApp): Array<[string, TcloHandler]> {
    return this.servicesOn(app).flatMap((s) => Object.entries(s.commands ?? {}));
  }

  capabilitiesOn(app: TcloApp): Array<[string, string | number | null]> {
    return this.servicesOn(app).flatMap((s) => Object.entries(s.capabilities ?? {}));
  }

  /** The idle poll cap the channel's services ask for (the smallest), or undefined. */
  pollMaxOn(app: TcloApp): number | undefined {
    const caps = this.servicesOn(app).flatMap((s) => (s.pollMaxMs === undefined ? [] : [s.pollMaxMs]));
    return caps.length ? Math.min(...caps) : undefined;
  }

  /** The longest TCLO answer the channel's services give past GuestMsg's 64 KiB (the largest), or undefined. */
  replyMaxOn(app: TcloApp): number | undefined {
    const max = this.servicesOn(app).flatMap((s) => (s.tcloReplyMax === undefined ? [] : [s.tcloReplyMax]));
    return max.length ? Math.max(...max) : undefined;
  }

  /** What the owner of an option on this channel does with it; undefined when nobody owns it. */
  optionOwner(app: TcloApp, name: string): OptionHandler | undefined {
    // Own keys only: an option named `constructor` must not find Object.prototype's.
    const s = this.servicesOn(app).find((x) => x.options && Object.hasOwn(x.options, name));
    return s?.options?.[name];
  }

  private claim(what: string, key: string, s: AgentService): void {
    const first = this.owners.get(key);
    if (first !== undefined) throw new ServiceConflict(s.name, what, first);
    this.owners.set(key, `the service "${s.name}"`);
  }
}
