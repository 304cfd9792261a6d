/**
 * Guest info reporting as a service: reported when the agent starts, on a schedule, after each
 * ping and (everything again) after each reset; the host's broadcastIP option adds guestinfo.ip.
 * GuestInfoReporter gathers and sends.
 */
import { GuestInfoReporter } from '../guestinfo.js';
import type { AgentService, ServiceContext } from '../service.js';

export function guestInfoService(
  ctx: ServiceContext,
): AgentService & { readonly reporter: GuestInfoReporter } {
  const reporter = new GuestInfoReporter(ctx.rpc, () => ctx.config.guestinfo, ctx.logger);
  let stopped = false;
  const report = (why: string) => {
    if (stopped) return;
    reporter.report(why).catch((e: Error) => ctx.logger.warn({ err: e.message }, 'guest info report failed'));
  };
  return {
    name: 'guestinfo',
    reporter,
    options: {
      broadcastIP: (value) => {
        reporter.broadcastIp = value === '1';
        if (value === '1') report('broadcastIP');
      },
    },
    start() {
      report('start');
      reporter.schedule();
    },
    onPing: () => report('ping'),
    onReset() {
      // The host forgot what it was told: everything goes again.
      reporter.clearCache();
      report('reset');
    },
    stop() {
      stopped = true;
      reporter.stop();
    },
    settle: () => reporter.settle(),
  };
}
