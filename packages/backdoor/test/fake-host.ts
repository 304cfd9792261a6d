/**
 * A scripted backdoor host for unit tests of the typed commands: each command answers from a
 * handler; anything unhandled answers as QEMU's vmport does (eax = 0xFFFFFFFF, the rest untouched).
 * Every call is recorded so tests can assert what reached the port (and that nothing did).
 */
import type { BackdoorPort, Registers } from '../src/index.js';

export type Handler = (r: Registers) => Partial<Registers>;

export class FakeHost implements BackdoorPort {
  readonly calls: Registers[] = [];
  constructor(readonly handlers: Record<number, Handler> = {}) {}

  async call(regs: Registers): Promise<Registers> {
    this.calls.push({ ...regs });
    const h = this.handlers[regs.ecx & 0xffff];
    if (!h) return { ...regs, eax: 0xffffffff };
    return { ...regs, ...h(regs) };
  }

  async hbOut(): Promise<Registers> {
    throw new Error('no HB in this fake');
  }

  async hbIn(): Promise<Registers> {
    throw new Error('no HB in this fake');
  }

  /** Commands called, in order. */
  get commands(): number[] {
    return this.calls.map((c) => c.ecx & 0xffff);
  }
}

/** `port`, answering each call on a later turn of the event loop, as a host behind a socket does. */
export function slowPort(port: BackdoorPort): BackdoorPort {
  return {
    call: async (r) => {
      await new Promise((resolve) => setImmediate(resolve));
      return port.call(r);
    },
    hbOut: (r, d) => port.hbOut(r, d),
    hbIn: (r, d) => port.hbIn(r, d),
  };
}
