/**
 * The simulated host as an in-process BackdoorPort. Arguments are checked exactly as the native
 * port checks them. A call the host does not honour (a restricted backdoor) rejects with
 * BackdoorFault, where a real guest process would get SIGSEGV; a silent host never settles, as a
 * vCPU stuck in the instruction would not (callers must bring their own timeouts).
 */
import {
  BackdoorFault,
  type BackdoorPort,
  checkHbBuffer,
  checkRegisters,
  type Registers,
} from '@vmw9/backdoor';
import type { CallResult, VmxHost } from './host.js';

export class SimBackdoorPort implements BackdoorPort {
  constructor(
    readonly host: VmxHost,
    /** Reported in the call log, so tests can tell callers apart. */
    readonly pid = 0,
  ) {}

  async call(regs: Registers): Promise<Registers> {
    checkRegisters(regs);
    return (await settle(this.host.lowBandwidth(regs, this.pid))).regs;
  }

  async hbOut(regs: Registers, data: Uint8Array): Promise<Registers> {
    checkRegisters(regs);
    checkHbBuffer(data, 'data');
    return (
      await settle(
        this.host.hbOut(regs, Buffer.from(data.buffer, data.byteOffset, data.byteLength), this.pid),
      )
    ).regs;
  }

  async hbIn(regs: Registers, into: Uint8Array): Promise<Registers> {
    checkRegisters(regs);
    checkHbBuffer(into, 'into');
    const r = await settle(this.host.hbIn(regs, into.byteLength, this.pid));
    if (r.data) into.set(r.data);
    return r.regs;
  }
}

/** Turns a host outcome into what a guest would see. */
export function settle(r: CallResult): Promise<{ regs: Registers; data?: Buffer }> {
  if (r.kind === 'done') return Promise.resolve(r);
  if (r.kind === 'fault') {
    return Promise.reject(
      new BackdoorFault(`the backdoor call faulted: the host refuses it (${r.reason})`, r.reason),
    );
  }
  return new Promise(() => {});
}
