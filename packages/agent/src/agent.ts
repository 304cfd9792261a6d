/**
 * The agent core: vmtoolsd's main loop for a headless or Plan 9-minded guest. It reaches the host
 * (native backdoor, else the embedded simulator, said plainly), tells it who we are, runs a TCLO
 * loop per app channel its services live on, and serves /mnt/vmware over 9P. It answers reset,
 * ping, Capabilities_Register and Set_Option itself and routes everything else to the services
 * (./services: power, time, guest info, resolution…), which publish what the tree should know on
 * the agent's event hub. The tree lives as long as the agent: a host reset, a checkpoint or a lost
 * channel is recovered underneath it (RpciClient and TcloLoop reopen their channels).
 */
import { existsSync } from 'node:fs';
import { MAX_GUEST_MESSAGE, TCLO_SUCCESS, TcloCommand } from '@vmw9/backdoor';
import {
  type AgentStatus,
  buildVmwareTree,
  type FsServices,
  formatAgentStatus,
  HostEventHub,
  type HostEventSource,
  type ServedTree,
  serveVmwareTree,
  TextFile,
} from '@vmw9/fs';
import {
  escapeBytes,
  RpciClient,
  log as rpcLog,
  setCapability,
  TcloLoop,
  type TcloRequest,
  type TraceSink,
} from '@vmw9/rpc';
import type { VmxHost } from '@vmw9/vmx-sim';
import { parseDial } from 'ninep/dial';
import type { Logger } from 'pino';
import { type AgentConfig, defaultConfig } from './config.js';
import {
  AGENT_NAME,
  AGENT_VERSION,
  announceTools,
  registerIdentity,
  TOOLS_VERSION_TEXT,
} from './identity.js';
import { AgentLog, type LogOptions } from './log.js';
import { Routes } from './routes.js';
import {
  type AgentService,
  type ServiceContext,
  type ServiceFactory,
  type ServiceInjections,
  SYSTEM_APP,
  type TcloApp,
} from './service.js';
import { SERVICES } from './services/index.js';
import { type HostChoice, openTransport, type Transport } from './transport.js';

/** The start of a TCLO answer that succeeded (`OK `). */
const OK_REPLY = Buffer.from(TCLO_SUCCESS);

export interface AgentStartOptions extends ServiceInjections {
  /** How to reach the host; default: native when detected, else the embedded simulator. */
  host?: HostChoice;
  /** The embedded simulated host to use with `host: 'sim'` (tests drive it). */
  simHost?: VmxHost;
  config?: AgentConfig;
  /** Where the tree is served (overrides [fs] listen); `false`: not served. */
  listen?: string | false;
  /** An AgentLog, or options for a new one (level defaults to [logging] level). */
  log?: AgentLog | LogOptions;
  /** TCLO polling (defaults: @vmw9/rpc's). */
  tclo?: { minDelayMs?: number; maxDelayMs?: number; restartDelayMs?: number };
  /** Where each GuestRPC message (RPCI and every TCLO channel) is recorded: `vmw9 --trace agent`. */
  trace?: TraceSink;
  /** Services run besides the built-in SERVICES. */
  services?: readonly ServiceFactory[];
}

export class Agent {
  /** Host options (Set_Option), as last set on any channel. */
  readonly options = new Map<string, string>();
  readonly rpc: RpciClient;
  /** The TCLO loop of each app channel: `toolbox` always, others when a service lives there. */
  readonly loops: ReadonlyMap<TcloApp, TcloLoop>;
  readonly logger: Logger;
  served: ServedTree | null = null;
  /** Host resets of the system channel recovered from (the first `reset` of a session included). */
  resets = 0;
  /** When the agent started (its `status` file's `started`). */
  readonly started = new Date();
  /** The last command the host sent on each channel, its answer's kind, and when. */
  private readonly lastCommand = new Map<TcloApp, { command: string; ok: boolean; at: Date }>();
  private readonly hub = new HostEventHub();
  private readonly services: ReadonlyMap<ServiceFactory, AgentService>;
  private readonly routes: Routes;
  private stopping: Promise<void> | null = null;
  private announcedVersion = false;

  private constructor(
    readonly transport: Transport,
    readonly config: AgentConfig,
    readonly log: AgentLog,
    opts: AgentStartOptions,
  ) {
    this.logger = log.logger;
    this.rpc = RpciClient.overPort(transport.port, opts.trace ? { trace: opts.trace } : {});
    const ctx: ServiceContext = {
      rpc: this.rpc,
      port: transport.port,
      config,
      logger: this.logger,
      events: this.hub,
      startOptions: opts,
    };
    const made = [...SERVICES, ...(opts.services ?? [])].map((make) => [make, make(ctx)] as const);
    // Routes refuses two services of one name, so a factory listed twice never replaces the first.
    this.routes = new Routes(made.map(([, s]) => s));
    this.services = new Map(made);
    this.loops = new Map(this.routes.apps.map((app) => [app, this.openLoop(app, opts)]));
  }

  /** Starts an agent: the transport, the tree, the TCLO loops and the services. */
  static async start(opts: AgentStartOptions = {}): Promise<Agent> {
    const config = opts.config ?? defaultConfig();
    const log =
      opts.log instanceof AgentLog
        ? opts.log
        : new AgentLog({ level: config.logging.level, format: config.logging.format, ...opts.log });
    const transport = await openTransport(opts.host, opts.simHost);
    let agent: Agent;
    try {
      agent = new Agent(transport, config, log, opts);
    } catch (e) {
      await transport.close().catch(() => undefined);
      throw e;
    }
    try {
      await agent.begin(opts);
    } catch (e) {
      await agent.stop();
      throw e;
    }
    return agent;
  }

  /** What the agent tells the tree (and anyone else who subscribes). */
  get events(): HostEventSource {
    return this.hub;
  }

  /** The address the tree is served on (a dial string), or null. */
  get address(): string | null {
    return this.served?.address ?? null;
  }

  /** The running service a factory made (built-in or from `services`). */
  service<S extends AgentService>(factory: ServiceFactory<S>): S {
    const s = this.services.get(factory as ServiceFactory);
    if (!s) throw new TypeError(`${factory.name || 'that factory'} is not one of this agent's services`);
    return s as S;
  }

  /** The one place a TCLO loop is made: the core's commands, then its services'. */
  private openLoop(app: TcloApp, opts: AgentStartOptions): TcloLoop {
    const cap = this.routes.pollMaxOn(app);
    const max = opts.tclo?.maxDelayMs;
    const replyMax = this.routes.replyMaxOn(app);
    const loop = TcloLoop.overPort(this.transport.port, {
      app,
      ...opts.tclo,
      // `OK ` and the longest answer a service gives, where that is past the 64 KiB default.
      ...(replyMax === undefined
        ? {}
        : { channel: { maxSend: Math.max(MAX_GUEST_MESSAGE, OK_REPLY.length + replyMax) } }),
      // A service's cap bounds the idle wait; a smaller one given to the agent still wins.
      ...(cap === undefined ? {} : { maxDelayMs: max === undefined ? cap : Math.min(max, cap) }),
      ...(opts.trace ? { trace: opts.trace } : {}),
      onReset: () => this.onReset(app),
    });
    loop.register(TcloCommand.PING, () => {
      for (const s of this.routes.servicesOn(app)) s.onPing?.();
      return '';
    });
    loop.register(TcloCommand.CAPABILITIES_REGISTER, () => this.registerCapabilities(app));
    loop.register(TcloCommand.SET_OPTION, (args) => this.setOption(app, args));
    for (const [command, handler] of this.routes.commandsOn(app)) loop.register(command, handler);
    loop.on('error', (e: Error) =>
      this.logger.warn({ app, err: e.message }, 'the TCLO channel failed; reopening it'),
    );
    loop.on('command', ({ command }: TcloRequest, reply: Buffer) => {
      const ok = reply.subarray(0, OK_REPLY.length).equals(OK_REPLY);
      this.lastCommand.set(app, { command, ok, at: new Date() });
      this.hub.publish({ type: 'command', app, command, ok });
    });
    loop.on('unknown', (raw: Buffer) => {
      // One line whatever the bytes: escaped as the trace shows them, at most 200 of them.
      const text = escapeBytes(raw.subarray(0, 200)) + (raw.length > 200 ? '…' : '');
      this.logger.info({ app, command: text }, 'the host sent a command no service answers');
      this.hub.publish({ type: 'note', line: `tclo ${text}` });
    });
    return loop;
  }

  private async begin(opts: AgentStartOptions): Promise<void> {
    const t = this.transport;
    if (t.kind === 'native') this.logger.info({ transport: t.description }, 'running on the VMware host');
    else
      this.logger.warn(
        { transport: t.description, ...(t.fallbackReason ? { why: t.fallbackReason } : {}) },
        t.kind === 'sim'
          ? 'running on the embedded simulated host, not a real VMware host'
          : 'running on a simulated host in another process, not a real VMware host',
      );
    const listen = opts.listen === undefined ? (this.config.fs.listen ?? undefined) : opts.listen;
    if (listen !== false) {
      const tree = buildVmwareTree(this.fsServices(), {
        guestinfoKeys: this.config.fs.guestinfoKeys,
        // `status` is the core's: a snapshot of status() per open (docs/protocol/tree.md §16).
        files: [...this.routes.files, new TextFile('status', () => formatAgentStatus(this.status()))],
      });
      this.served = await serveVmwareTree(tree, {
        ...(listen ? { listen } : {}),
        log: (line) => this.logger.debug({ ninep: line }, '9P server'),
      });
      this.logger.info({ address: this.served.address }, 'serving the vmware tree');
      if (this.served.warning) this.logger.warn({ address: this.served.address }, this.served.warning);
    }
    // A failure is logged, not fatal: the host still gets everything else.
    await announceTools(this.rpc).catch((e: Error) =>
      this.logger.warn({ err: e.message }, 'cannot set guestinfo.vmtools.*'),
    );
    for (const loop of this.loops.values()) loop.start();
    for (const s of this.services.values()) s.start?.();
  }

  /** What the agent is doing now: its `status` file, and `vmw9 status`. */
  status(): AgentStatus {
    return {
      agent: `${AGENT_NAME} ${AGENT_VERSION}`,
      pid: process.pid,
      ...(this.address ? { address: this.address } : {}),
      transport: this.transport.description,
      started: this.started,
      uptime: Math.floor((Date.now() - this.started.getTime()) / 1000),
      resets: this.resets,
      tclo: [...this.loops].map(([app, loop]) => {
        const last = this.lastCommand.get(app);
        return {
          app,
          state: loop.state,
          commands: loop.stats.commands,
          errors: loop.stats.errors,
          ...(loop.lastError === undefined ? {} : { lastError: loop.lastError }),
          ...(last ? { last } : {}),
        };
      }),
      services: [...this.services.values()].map((s) => ({ name: s.name, app: s.app ?? SYSTEM_APP })),
    };
  }

  private fsServices(): FsServices {
    return {
      port: this.transport.port,
      rpc: this.rpc,
      transport: this.transport.description,
      events: this.hub,
      agent: { name: AGENT_NAME, version: AGENT_VERSION },
      ...this.routes.treeHooks,
      kmesg: () => this.log.recent(),
      poll: { memMs: this.config.fs.memPollMs },
    };
  }

  /** After `OK ATR <app>` reached the host: vmtoolsd's ToolsCoreCheckReset, then the services resend. */
  private async onReset(app: TcloApp): Promise<void> {
    if (app === SYSTEM_APP) this.resets++;
    try {
      const r = await this.rpc.send(`vmx.capability.unified_loop ${app}`);
      if (!r.ok) this.logger.warn({ app }, "the host doesn't support the Tools unified loop");
      if (!this.announcedVersion) {
        await rpcLog(this.rpc, `toolbox: Version: ${TOOLS_VERSION_TEXT} (${AGENT_NAME} ${AGENT_VERSION})`);
        this.announcedVersion = true;
      }
    } catch (e) {
      this.logger.warn({ app, err: (e as Error).message }, 'cannot re-register after a host reset');
    }
    this.logger.info({ app, resets: this.resets }, 'host reset: channel registered');
    this.hub.publish({ type: 'reset' });
    for (const s of this.routes.servicesOn(app)) {
      try {
        await s.onReset?.();
      } catch (e) {
        this.logger.warn(
          { service: s.name, err: (e as Error).message },
          'a service failed after a host reset',
        );
      }
    }
  }

  /** Capabilities_Register: the channel's services' capabilities, then (system channel) ours. */
  private async registerCapabilities(app: TcloApp): Promise<string> {
    for (const [name, value] of this.routes.capabilitiesOn(app)) await setCapability(this.rpc, name, value);
    for (const s of this.routes.servicesOn(app)) await s.onCapabilities?.();
    if (app === SYSTEM_APP) await registerIdentity(this.rpc);
    this.hub.publish({ type: 'capabilities' });
    return '';
  }

  /**
   * Set_Option NAME VALUE: its owner on this channel acts on it; then, unless the owner refused the
   * value (it threw: the host's answer is the error), it is recorded and published.
   */
  private async setOption(app: TcloApp, args: string): Promise<string> {
    const m = /^(\S+)\s+(.+)$/.exec(args.trim());
    const owner = m ? this.routes.optionOwner(app, m[1]!) : undefined;
    if (!m || !owner) throw new Error('Unknown or invalid option');
    const [, name, value] = m as unknown as [string, string, string];
    await owner(value, name);
    this.options.set(name, value);
    this.hub.publish({ type: 'option', name, value });
    return '';
  }

  /** Stops everything: TCLO loops, services, 9P server (every connection), channels. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    // The 9P server first: its listening socket goes at once (nobody should reach a stopping
    // agent, and a supervisor that checks for the socket right after the signal finds it gone),
    // while the TCLO loops and pending work wind down. net.Server.close waits for open
    // connections, so they are dropped before the listener's close is awaited.
    const served = this.served;
    const serverClosed = served ? Promise.all([served.server.close(), served.close()]) : undefined;
    // Handled now, awaited below: a failure must not count as an unhandled rejection meanwhile.
    serverClosed?.catch(() => undefined);
    for (const s of this.services.values()) s.stop?.();
    await Promise.all([...this.loops.values()].map((l) => l.stop()));
    for (const s of this.services.values()) await s.settle?.();
    if (served) {
      await serverClosed;
      const bound = parseDial(served.address);
      const path = bound.net === 'unix' ? bound.path : undefined;
      if (path && existsSync(path)) this.logger.warn({ path }, 'the socket file is still there after close');
    }
    await this.rpc.close().catch(() => undefined);
    await this.transport.close().catch(() => undefined);
    this.logger.info('stopped');
  }
}
