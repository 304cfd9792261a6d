/**
 * The agent: vmtoolsd's main service for a headless or Plan 9-minded guest. It reaches the host
 * (native backdoor, else the embedded simulator, said plainly), tells it who we are, runs the TCLO
 * loop (reset, ping, capabilities, options, power, time, resolution), reports guest info, and
 * serves /mnt/vmware over 9P. The tree lives as long as the agent: a host reset, a checkpoint or a
 * lost channel is recovered underneath it (RpciClient and TcloLoop reopen their channels), so
 * nothing a client wrote or holds open is lost.
 */
import { existsSync } from 'node:fs';
import { buildVmwareTree, type FsServices, HostEventHub, type ServedTree, serveVmwareTree } from '@vmw9/fs';
import {
  guestinfoSet,
  RpciClient,
  log as rpcLog,
  setCapability,
  setToolsVersion,
  TcloLoop,
  toolsVersion,
} from '@vmw9/rpc';
import type { VmxHost } from '@vmw9/vmx-sim';
import type { Logger } from 'pino';
import { type AgentConfig, defaultConfig, type PowerState } from './config.js';
import { GuestInfoReporter } from './guestinfo.js';
import { AgentLog, type LogOptions } from './log.js';
import { POWER_COMMANDS, PowerOps } from './power.js';
import { type SetClock, TimeSync } from './timesync.js';
import { type HostChoice, openTransport, type Transport } from './transport.js';

export const AGENT_NAME = 'vmw9-agent';
export const AGENT_VERSION = '0.1.0';
/**
 * The open-vm-tools version we speak for: the host decides what to send by it. 12.5.0 is the
 * release whose protocol the spec describes; the type is 4 (OVT: guest-managed, never upgraded).
 */
export const TOOLS_VERSION = { major: 12, minor: 5, base: 0, type: 4 } as const;
export const GUEST_CONF_DIRECTORY = '/etc/vmw9';

/** Set_Option names a host sends (tclodefs.h, timesync.h, powerops.h): others are refused. */
export const KNOWN_OPTIONS = new Set([
  'copypaste',
  'autohide',
  'broadcastIP',
  'enableDnD',
  'mapRootHgfsShare',
  'linkRootHgfsShare',
  'enableMessageBusTunnel',
  'guestLogLevel',
  'enableAppInfo',
  'enableGuestStoreAccess',
  'enableDeviceHelper',
  'synctime',
  'synctime.period',
  'time.synchronize.allow',
  'time.synchronize.tools.enable',
  'time.synchronize.tools.startup',
  'time.synchronize.tools.startup.backward',
  'time.synchronize.tools.slewCorrection',
  'time.synchronize.tools.percentCorrection',
  'time.synchronize.guest.resync',
  'time.synchronize.guest.resync.timeout',
  'toolScripts.afterPowerOn',
  'toolScripts.afterResume',
  'toolScripts.beforeSuspend',
  'toolScripts.beforePowerOff',
]);

/** Which toolScripts option turns each state's script off (powerOps plugin). */
const SCRIPT_OPTION: Readonly<Record<PowerState, string | null>> = {
  halt: 'toolScripts.beforePowerOff',
  reboot: 'toolScripts.beforePowerOff',
  poweron: 'toolScripts.afterPowerOn',
  resume: 'toolScripts.afterResume',
  suspend: 'toolScripts.beforeSuspend',
};

export interface AgentStartOptions {
  /** How to reach the host; default: native when detected, else the embedded simulator. */
  host?: HostChoice;
  /** The embedded simulated host to use with `host: 'sim'` (tests drive it). */
  simHost?: VmxHost;
  config?: AgentConfig;
  /** Where the tree is served (overrides [fs] listen); `false`: not served. */
  listen?: string | false;
  /** An AgentLog, or options for a new one (level defaults to [logging] level). */
  log?: AgentLog | LogOptions;
  /** How the guest clock is set (default date -s); tests inject a recorder. */
  setClock?: SetClock;
  /** NTP daemon detection (default: scan /proc). */
  ntpActive?: () => Promise<string | null>;
  /** The guest clock (ms), default Date.now. */
  now?: () => number;
  /** TCLO polling (defaults: @vmw9/rpc's). */
  tclo?: { minDelayMs?: number; maxDelayMs?: number; restartDelayMs?: number };
}

export class Agent {
  /** What the TCLO loop learns from the host, for the tree (typed host events). */
  readonly events = new HostEventHub();
  /** Host options (Set_Option), as last set. */
  readonly options = new Map<string, string>();
  readonly rpc: RpciClient;
  readonly tclo: TcloLoop;
  readonly power: PowerOps;
  readonly timeSync: TimeSync;
  readonly guestInfo: GuestInfoReporter;
  readonly logger: Logger;
  served: ServedTree | null = null;
  /** Host resets recovered from (the first `reset` of a session included). */
  resets = 0;
  private stopping: Promise<void> | null = null;
  private announcedVersion = false;
  private startupSyncDone = false;

  private constructor(
    readonly transport: Transport,
    readonly config: AgentConfig,
    readonly log: AgentLog,
    opts: AgentStartOptions,
  ) {
    this.logger = log.logger;
    this.rpc = new RpciClient(transport.port);
    this.power = new PowerOps(
      this.rpc,
      () => this.config.powerops,
      this.logger,
      (state) => this.options.get(SCRIPT_OPTION[state] ?? '') !== '0',
    );
    this.timeSync = new TimeSync({
      port: transport.port,
      config: () => this.config.timesync,
      log: this.logger,
      ...(opts.setClock ? { setClock: opts.setClock } : {}),
      ...(opts.ntpActive ? { ntpActive: opts.ntpActive } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    });
    this.guestInfo = new GuestInfoReporter(this.rpc, () => this.config.guestinfo, this.logger);
    this.tclo = new TcloLoop(transport.port, {
      app: 'toolbox',
      ...opts.tclo,
      onReset: () => this.onReset(),
    });
    this.registerHandlers();
    this.tclo.on('error', (e: Error) =>
      this.logger.warn({ err: e.message }, 'the TCLO channel failed; reopening it'),
    );
  }

  /** Starts an agent: the transport, the tree, the TCLO loop and guest info. */
  static async start(opts: AgentStartOptions = {}): Promise<Agent> {
    const config = opts.config ?? defaultConfig();
    const log =
      opts.log instanceof AgentLog ? opts.log : new AgentLog({ level: config.logging.level, ...opts.log });
    const transport = await openTransport(opts.host, opts.simHost);
    const agent = new Agent(transport, config, log, opts);
    try {
      await agent.begin(opts);
    } catch (e) {
      await agent.stop();
      throw e;
    }
    return agent;
  }

  /** The address the tree is served on (a dial string), or null. */
  get address(): string | null {
    return this.served?.address ?? null;
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
      const tree = buildVmwareTree(this.fsServices(), { guestinfoKeys: this.config.fs.guestinfoKeys });
      this.served = await serveVmwareTree(tree, {
        ...(listen ? { listen } : {}),
        log: (line) => this.logger.debug({ ninep: line }, '9P server'),
      });
      this.logger.info({ address: this.served.address }, 'serving the vmware tree');
    }
    await this.announceTools();
    this.tclo.start();
    this.reportGuestInfo('start');
    this.guestInfo.schedule();
  }

  private fsServices(): FsServices {
    return {
      port: this.transport.port,
      rpc: this.rpc,
      transport: this.transport.description,
      events: this.events,
      agent: { name: AGENT_NAME, version: AGENT_VERSION },
      power: {
        acknowledge: (ok, reason) => {
          // The host is answered when the script and system command finish; a client's
          // acknowledgement is recorded for the log only.
          this.logger.info({ ok, reason }, 'a client acknowledged the power request');
        },
      },
      timeSync: async (args) => {
        if (args.length === 0) {
          const r = await this.timeSync.syncOnce('timectl');
          if (r.action === 'skipped' || r.action === 'refused') throw new Error(r.reason ?? r.action);
        } else this.timeSync.setPeriodic(args[0] === 'on');
      },
      kmesg: () => this.log.recent(),
    };
  }

  /** guestinfo.vmtools.* (§4.6): sent once at start; a failure is logged, not fatal. */
  private async announceTools(): Promise<void> {
    const v = `${TOOLS_VERSION.major}.${TOOLS_VERSION.minor}.${TOOLS_VERSION.base}`;
    const num = toolsVersion(TOOLS_VERSION.major, TOOLS_VERSION.minor, TOOLS_VERSION.base);
    try {
      await guestinfoSet(
        this.rpc,
        'guestinfo.vmtools.description',
        `${AGENT_NAME} ${AGENT_VERSION} (open-vm-tools ${v} protocol)`,
      );
      await guestinfoSet(this.rpc, 'guestinfo.vmtools.versionString', v);
      await guestinfoSet(this.rpc, 'guestinfo.vmtools.versionNumber', String(num));
      await guestinfoSet(this.rpc, 'guestinfo.vmtools.buildNumber', '0');
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, 'cannot set guestinfo.vmtools.*');
    }
  }

  private registerHandlers(): void {
    const t = this.tclo;
    t.register('ping', () => {
      this.reportGuestInfo('ping');
      return '';
    });
    t.register('Capabilities_Register', async () => {
      await this.registerCapabilities();
      this.events.publish({ type: 'capabilities' });
      return '';
    });
    t.register('Set_Option', (args) => this.setOption(args));
    for (const [command, state] of Object.entries(POWER_COMMANDS))
      t.register(command, () => this.powerRequest(state));
    t.register('Time_Synchronize', async (args) => {
      const a = args.trim();
      if (a !== '0' && a !== '1') throw new Error('Unable to tokenize TimeSync RPC data');
      try {
        await this.timeSync.syncOnce(a === '1' ? 'host (backward allowed by the host)' : 'host');
      } catch (e) {
        this.logger.warn({ err: (e as Error).message }, 'time sync failed');
        throw new Error('Unable to sync time');
      }
      return '';
    });
    t.register('TimeInfo_Update', () => '');
    t.register('Resolution_Set', (args) => {
      const m = /^\s*(\d{1,5})\s+(\d{1,5})\s*$/.exec(args);
      if (!m) throw new Error('Invalid arguments');
      const w = Number(m[1]);
      const h = Number(m[2]);
      this.events.publish({ type: 'resolution', width: w, height: h });
      this.logger.info({ width: w, height: h }, 'the host asks for a new resolution');
      return '';
    });
  }

  /** After `OK ATR toolbox` reached the host: vmtoolsd's ToolsCoreCheckReset, then resend everything. */
  private async onReset(): Promise<void> {
    this.resets++;
    try {
      const r = await this.rpc.send('vmx.capability.unified_loop toolbox');
      if (!r.ok) this.logger.warn("the host doesn't support the Tools unified loop");
      if (!this.announcedVersion) {
        await rpcLog(
          this.rpc,
          `toolbox: Version: ${TOOLS_VERSION.major}.${TOOLS_VERSION.minor}.${TOOLS_VERSION.base} (${AGENT_NAME} ${AGENT_VERSION})`,
        );
        this.announcedVersion = true;
      }
    } catch (e) {
      this.logger.warn({ err: (e as Error).message }, 'cannot re-register after a host reset');
    }
    this.logger.info({ resets: this.resets }, 'host reset: channel registered');
    this.events.publish({ type: 'reset' });
    this.guestInfo.clearCache();
    this.reportGuestInfo('reset');
  }

  /** Capabilities_Register (§4.5): NOVAL capabilities, then the configuration directory and version. */
  private async registerCapabilities(): Promise<void> {
    await setCapability(this.rpc, 'statechange', null);
    await setCapability(this.rpc, 'softpowerop_retry', null);
    // Resolution_Set is handled (an event for the tree's wctl and events): say so.
    await setCapability(this.rpc, 'resolution_set', 1);
    await setCapability(this.rpc, 'guest_conf_directory', GUEST_CONF_DIRECTORY);
    await setToolsVersion(
      this.rpc,
      toolsVersion(TOOLS_VERSION.major, TOOLS_VERSION.minor, TOOLS_VERSION.base),
      TOOLS_VERSION.type,
    );
  }

  private setOption(args: string): string {
    const m = /^(\S+)\s+(.+)$/.exec(args.trim());
    if (!m || !KNOWN_OPTIONS.has(m[1]!)) throw new Error('Unknown or invalid option');
    const [, name, value] = m as unknown as [string, string, string];
    this.options.set(name, value);
    this.events.publish({ type: 'option', name, value });
    if (name === 'synctime' || name === 'synctime.period') {
      const period = Number(this.options.get('synctime.period') ?? '0');
      this.timeSync.setPeriodic(this.options.get('synctime') === '1', period > 0 ? period * 1000 : 60_000);
    } else if (name === 'broadcastIP') {
      this.guestInfo.broadcastIp = value === '1';
      if (value === '1') this.reportGuestInfo('broadcastIP');
    } else if (name === 'time.synchronize.tools.startup' && value === '1' && !this.startupSyncDone) {
      this.startupSyncDone = true;
      this.timeSync
        .syncOnce('startup')
        .catch((e: Error) => this.logger.warn({ err: e.message }, 'startup time sync failed'));
    }
    return '';
  }

  private powerRequest(state: PowerState): string {
    // Throws "State change already in progress" (vmtoolsd's reply) when one is running.
    const done = this.power.begin(state);
    this.events.publish({ type: 'power', state });
    done.then(
      (o) => this.events.publish({ type: 'power', state, outcome: o.ok ? 'done' : 'failed' }),
      () => undefined,
    );
    return '';
  }

  private reportGuestInfo(why: string): void {
    if (this.stopping) return;
    this.guestInfo
      .report(why)
      .catch((e: Error) => this.logger.warn({ err: e.message }, 'guest info report failed'));
  }

  /** Stops everything: TCLO loop, timers, 9P server (every connection), channels. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    // The 9P server first: its listening socket goes at once (nobody should reach a stopping
    // agent, and a supervisor that checks for the socket right after the signal finds it gone),
    // while the TCLO loop and pending reports wind down. net.Server.close waits for open
    // connections, so they are dropped before the listener's close is awaited.
    const served = this.served;
    const serverClosed = served ? Promise.all([served.server.close(), served.close()]) : undefined;
    // Handled now, awaited below: a failure must not count as an unhandled rejection meanwhile.
    serverClosed?.catch(() => undefined);
    this.guestInfo.stop();
    this.timeSync.stop();
    await this.tclo.stop();
    await this.power.settle();
    await this.guestInfo.settle();
    if (served) {
      await serverClosed;
      const path = /^unix!(.+)$/.exec(served.address)?.[1];
      if (path && existsSync(path)) this.logger.warn({ path }, 'the socket file is still there after close');
    }
    await this.rpc.close().catch(() => undefined);
    await this.transport.close().catch(() => undefined);
    this.logger.info('stopped');
  }
}
