/**
 * Power operations as a service: the host's OS_Halt … OS_Suspend (one command per POWER_STATES
 * entry), the capabilities that say we answer them, the toolScripts.* options that turn a state's
 * script off, and the tree's `power` acknowledgements. PowerOps does the work (script, system
 * command, status report); this module wires it to the host and the tree.
 */
import { POWER_STATES, type PowerStateName } from '@vmw9/rpc';
import { PowerOps } from '../power.js';
import type { AgentService, OptionHandler, ServiceContext } from '../service.js';

/** The toolScripts option that turns each state's script off, as vmtoolsd's powerOps plugin reads them. */
const SCRIPT_OPTION: Readonly<Record<PowerStateName, string>> = {
  halt: 'toolScripts.beforePowerOff',
  reboot: 'toolScripts.beforePowerOff',
  poweron: 'toolScripts.afterPowerOn',
  resume: 'toolScripts.afterResume',
  suspend: 'toolScripts.beforeSuspend',
};

export function powerService(ctx: ServiceContext): AgentService & { readonly ops: PowerOps } {
  /** toolScripts options the host set to 0. */
  const off = new Set<string>();
  const ops = new PowerOps(
    ctx.rpc,
    () => ctx.config.powerops,
    ctx.logger,
    (state) => !off.has(SCRIPT_OPTION[state]),
  );
  const request = (state: PowerStateName): string => {
    // Throws "State change already in progress" (vmtoolsd's reply) when one is running.
    const done = ops.begin(state);
    ctx.events.publish({ type: 'power', state });
    done.then(
      (o) => ctx.events.publish({ type: 'power', state, outcome: o.ok ? 'done' : 'failed' }),
      () => undefined,
    );
    return '';
  };
  const scriptSwitch: OptionHandler = (value, name) => {
    if (value === '0') off.add(name);
    else off.delete(name);
  };
  return {
    name: 'power',
    ops,
    commands: Object.fromEntries(POWER_STATES.map((p) => [p.command, () => request(p.name)])),
    capabilities: { statechange: null, softpowerop_retry: null },
    options: Object.fromEntries(Object.values(SCRIPT_OPTION).map((name) => [name, scriptSwitch])),
    treeHooks: {
      power: {
        // The host is answered when the script and system command finish; a client's
        // acknowledgement is recorded for the log only.
        acknowledge: (ok, reason) =>
          ctx.logger.info({ ok, reason }, 'a client acknowledged the power request'),
      },
    },
    settle: () => ops.settle(),
  };
}
