/**
 * Host power requests (OS_Halt, OS_Reboot, OS_PowerOn, OS_Resume, OS_Suspend;
 * docs/protocol/guestrpc.md §10).
 * As vmtoolsd: the TCLO reply is `OK ` at once, the configured script runs, and the outcome
 * is reported with `tools.os.statechange.status <0|1> <state>`. One difference on purpose: for a
 * halt or reboot the system command runs *before* the report, so a shutdown that cannot start
 * (a container without an init that answers, open-vm-tools #685, rancher/os #1543) is reported as
 * a failure the host can act on (a hard power-off) instead of a success followed by nothing.
 */
import { type PowerStateName, powerState, type RpcSender, stateChangeStatus } from '@vmw9/rpc';
import type { Logger } from 'pino';
import type { AgentConfig } from './config.js';
import { runCommand, runShell } from './exec.js';

export interface PowerOutcome {
  state: PowerStateName;
  ok: boolean;
  reason?: string;
}

export class PowerOps {
  private running: Promise<PowerOutcome> | null = null;
  /** The last outcome (for tests and `kmesg`). */
  last: PowerOutcome | null = null;

  constructor(
    private readonly rpc: RpcSender,
    private readonly config: () => AgentConfig['powerops'],
    private readonly log: Logger,
    /** toolScripts.* options from the host: a 0 turns that state's script off, as in vmtoolsd. */
    private readonly scriptAllowed: (state: PowerStateName) => boolean = () => true,
  ) {}

  get busy(): boolean {
    return this.running !== null;
  }

  /**
   * Starts a request; returns at once (the TCLO reply must not wait for the script).
   * Throws when another request is still running, with vmtoolsd's reply text.
   */
  begin(state: PowerStateName): Promise<PowerOutcome> {
    if (this.running) throw new Error('State change already in progress');
    const p = this.perform(state).finally(() => {
      this.running = null;
    });
    this.running = p;
    return p;
  }

  /** Waits for a running request (stop()). */
  async settle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async perform(state: PowerStateName): Promise<PowerOutcome> {
    const cfg = this.config();
    const out: PowerOutcome = { state, ok: true };
    const script = this.scriptAllowed(state) ? cfg.scripts[state] : null;
    if (script) {
      this.log.info({ state, script }, 'running the power script');
      try {
        await runCommand(script, [state], cfg.scriptTimeoutMs);
      } catch (e) {
        out.ok = false;
        out.reason = (e as Error).message;
        this.log.error({ state, script, err: out.reason }, 'the power script failed');
      }
    }
    if (out.ok && (state === 'halt' || state === 'reboot')) {
      if (cfg.systemActions) {
        const line = state === 'halt' ? cfg.shutdownCommand : cfg.rebootCommand;
        this.log.warn({ state, command: line }, state === 'halt' ? 'Initiating halt.' : 'Initiating reboot.');
        try {
          await runShell(line, cfg.scriptTimeoutMs);
        } catch (e) {
          out.ok = false;
          out.reason = (e as Error).message;
          this.log.error(
            { state, command: line, err: out.reason },
            'the system command failed; set [powerops] shutdown-command/reboot-command, or system-actions = false where the agent cannot power the machine off (containers)',
          );
        }
      } else this.log.info({ state }, 'system actions are off: the machine is left running');
    }
    try {
      await stateChangeStatus(this.rpc, out.ok, powerState(state)!.id);
    } catch (e) {
      this.log.error({ state, err: (e as Error).message }, 'cannot report the state change to the host');
    }
    this.last = out;
    return out;
  }
}
