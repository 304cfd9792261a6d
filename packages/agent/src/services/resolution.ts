/**
 * Resolution_Set: the host asks for a display size. A headless agent resizes nothing itself; the
 * request becomes a `resolution W H` event, which the tree shows in `events` and as `wctl`'s
 * pending size for whatever draws the screen.
 */
import type { AgentService, ServiceContext } from '../service.js';

export function resolutionService(ctx: ServiceContext) {
  return {
    name: 'resolution',
    commands: {
      Resolution_Set: (args: string) => {
        const m = /^\s*(\d{1,5})\s+(\d{1,5})\s*$/.exec(args);
        if (!m) throw new Error('Invalid arguments');
        const width = Number(m[1]);
        const height = Number(m[2]);
        ctx.events.publish({ type: 'resolution', width, height });
        ctx.logger.info({ width, height }, 'the host asks for a new resolution');
        return '';
      },
    },
    // Handled (an event for the tree's wctl and events): say so.
    capabilities: { resolution_set: 1 },
  } satisfies AgentService;
}
