/**
 * BackdoorPort over the real instructions. Every argument is checked in TypeScript before the
 * addon sees it (and again in C++ for buffer types), so nothing malformed reaches a port.
 */
import {
  type BackdoorPort,
  BackdoorUnavailable,
  checkHbBuffer,
  checkRegisters,
  type Registers,
} from '@vmw9/backdoor';
import { loadBinding, type NativeBinding } from './binding.js';
import { type Detection, type DetectOptions, detect } from './detect.js';

export class NativeBackdoorPort implements BackdoorPort {
  /** One scratch block for every call: calls are synchronous, so it is never shared in flight. */
  private readonly block = new Uint32Array(7);

  private constructor(
    private readonly binding: NativeBinding,
    /** What detection found when the port was opened. */
    readonly detection: Detection,
  ) {
    // One block per process is bound in the addon; every port shares it (calls are synchronous).
    binding.bindBlock(this.block);
  }

  /** Detects, then opens; throws BackdoorUnavailable with detection's reason when no backdoor answers. */
  static open(opts: DetectOptions = {}): NativeBackdoorPort {
    const d = detect(opts);
    if (!d.available) throw new BackdoorUnavailable(d.message, d.reason);
    return new NativeBackdoorPort(opts.binding ?? loadBinding(), d);
  }

  callSync(regs: Registers): Registers {
    checkRegisters(regs);
    this.fill(regs);
    this.binding.lowBandwidthBound();
    return this.read();
  }

  hbOutSync(regs: Registers, data: Uint8Array): Registers {
    checkRegisters(regs);
    checkHbBuffer(data, 'data');
    this.fill(regs);
    this.binding.hbOut(this.block, data);
    return this.read();
  }

  hbInSync(regs: Registers, into: Uint8Array): Registers {
    checkRegisters(regs);
    checkHbBuffer(into, 'into');
    this.fill(regs);
    this.binding.hbIn(this.block, into);
    return this.read();
  }

  async call(regs: Registers): Promise<Registers> {
    return this.callSync(regs);
  }

  async hbOut(regs: Registers, data: Uint8Array): Promise<Registers> {
    return this.hbOutSync(regs, data);
  }

  async hbIn(regs: Registers, into: Uint8Array): Promise<Registers> {
    return this.hbInSync(regs, into);
  }

  private fill(r: Registers): void {
    const b = this.block;
    b[0] = r.eax;
    b[1] = r.ebx;
    b[2] = r.ecx;
    b[3] = r.edx;
    b[4] = r.esi;
    b[5] = r.edi;
    b[6] = r.ebp;
  }

  private read(): Registers {
    const b = this.block;
    return { eax: b[0]!, ebx: b[1]!, ecx: b[2]!, edx: b[3]!, esi: b[4]!, edi: b[5]!, ebp: b[6]! };
  }
}
