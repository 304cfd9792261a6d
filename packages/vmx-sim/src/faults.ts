/**
 * Fault injection. Each armed fault fires on the next call that matches it, then disarms (unless
 * `times` says otherwise). Kinds:
 *   cpt        a checkpoint (snapshot, suspend, vMotion) at a given step of a message: that call
 *              fails with status CPT and SUCCESS clear; the host discards a partly received guest
 *              message and rewinds an undelivered reply (docs/protocol/backdoor.md §11)
 *   reset      the host resets at that step: every channel is closed, as after a restore
 *   garbage    the RPCI reply of that step's message is replaced by bytes of no protocol
 * Standing conditions (not one-shot): `restricted` (every call faults, as a restricted backdoor
 * does from user mode) and `silent` (the host never answers).
 */
import { MESSAGE_STEPS, type MessageStep } from '@vmw9/backdoor';

export { MESSAGE_STEPS, type MessageStep };

export interface ArmedFault {
  kind: 'cpt' | 'reset' | 'garbage';
  /** The step it fires at. */
  step: MessageStep;
  /** Only on this channel protocol ('RPCI' | 'TCLO'); any when absent. */
  protocol?: 'RPCI' | 'TCLO';
  /** Skip this many matching calls first (0 = the next one). */
  skip?: number;
  /** How many times it fires before disarming (default 1). */
  times?: number;
}

export class Faults {
  armed: ArmedFault[] = [];
  restricted = false;
  silent = false;
  /** Counts of faults that fired, by kind. */
  readonly fired: Record<string, number> = {};

  arm(f: ArmedFault): void {
    if (!MESSAGE_STEPS.includes(f.step))
      throw new Error(`unknown step "${f.step}"; steps: ${MESSAGE_STEPS.join(' ')}`);
    this.armed.push({ ...f, skip: f.skip ?? 0, times: f.times ?? 1 });
  }

  clear(): void {
    this.armed = [];
    this.restricted = false;
    this.silent = false;
  }

  /** Called for each message step: returns the fault that fires here, if any. */
  take(step: MessageStep, protocol: 'RPCI' | 'TCLO' | 'other'): ArmedFault | undefined {
    for (let i = 0; i < this.armed.length; i++) {
      const f = this.armed[i]!;
      if (f.step !== step || (f.protocol && f.protocol !== protocol)) continue;
      if (f.skip! > 0) {
        f.skip!--;
        continue;
      }
      f.times!--;
      if (f.times! <= 0) this.armed.splice(i, 1);
      this.fired[f.kind] = (this.fired[f.kind] ?? 0) + 1;
      return f;
    }
    return undefined;
  }
}
