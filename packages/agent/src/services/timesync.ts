/**
 * Time synchronisation as a service: the host's Time_Synchronize and TimeInfo_Update, its time
 * options (synctime, synctime.period, time.synchronize.*), and the tree's `timectl`. TimeSync
 * does the work and keeps the guest's [timesync] configuration in charge.
 */

import type { AgentService, OptionHandler, ServiceContext } from '../service.js';
import { TimeSync } from '../timesync.js';

/**
 * The host's own time policy settings. This agent follows its [timesync] configuration instead
 * (forward steps only, hands off while NTP runs), so these are accepted, recorded and logged.
 */
const HOST_POLICY = [
  'time.synchronize.allow',
  'time.synchronize.tools.enable',
  'time.synchronize.tools.startup.backward',
  'time.synchronize.tools.slewCorrection',
  'time.synchronize.tools.percentCorrection',
  'time.synchronize.guest.resync',
  'time.synchronize.guest.resync.timeout',
];

export function timeSyncService(ctx: ServiceContext): AgentService & { readonly clock: TimeSync } {
  const { setClock, ntpActive, now } = ctx.startOptions;
  const clock = new TimeSync({
    port: ctx.port,
    config: () => ctx.config.timesync,
    log: ctx.logger,
    ...(setClock ? { setClock } : {}),
    ...(ntpActive ? { ntpActive } : {}),
    ...(now ? { now } : {}),
  });
  /** The host's periodic sync switch and period (s), as last set. */
  let synctime = false;
  let periodS = 0;
  let startupSyncDone = false;
  const periodic = () => clock.setPeriodic(synctime, periodS > 0 ? periodS * 1000 : 60_000);
  const policy: OptionHandler = (value, name) =>
    ctx.logger.debug({ option: name, value }, 'host time policy recorded; [timesync] decides');
  return {
    name: 'timesync',
    clock,
    commands: {
      Time_Synchronize: async (args: string) => {
        const a = args.trim();
        if (a !== '0' && a !== '1') throw new Error('Unable to tokenize TimeSync RPC data');
        try {
          await clock.syncOnce(a === '1' ? 'host (backward allowed by the host)' : 'host');
        } catch (e) {
          ctx.logger.warn({ err: (e as Error).message }, 'time sync failed');
          throw new Error('Unable to sync time');
        }
        return '';
      },
      // The host tells us its time settings changed; there is nothing to fetch in return.
      TimeInfo_Update: () => '',
    },
    options: {
      synctime: (value) => {
        synctime = value === '1';
        periodic();
      },
      'synctime.period': (value) => {
        periodS = Number(value);
        periodic();
      },
      'time.synchronize.tools.startup': (value) => {
        if (value !== '1' || startupSyncDone) return;
        startupSyncDone = true;
        clock
          .syncOnce('startup')
          .catch((e: Error) => ctx.logger.warn({ err: e.message }, 'startup time sync failed'));
      },
      ...Object.fromEntries(HOST_POLICY.map((name) => [name, policy])),
    },
    treeHooks: {
      timeSync: async (args) => {
        if (args.length === 0) {
          const r = await clock.syncOnce('timectl');
          if (r.action === 'skipped' || r.action === 'refused') throw new Error(r.reason ?? r.action);
        } else clock.setPeriodic(args[0] === 'on');
      },
    },
    stop: () => clock.stop(),
  };
}
