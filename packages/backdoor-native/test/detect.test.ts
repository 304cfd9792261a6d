import { BDOOR_MAGIC } from '@vmw9/backdoor';
import { describe, expect, it } from 'vitest';
import { detect, NativeBackdoorPort, type NativeBinding } from '../src/index.js';

/** A binding whose CPUID and probe are scripted; it fails the test if an instruction is issued. */
function fakeBinding(opts: {
  signature?: string | null;
  arch?: string;
  probe?: (regs: Uint32Array) => { ok: boolean; signal: number; timedOut: boolean; errno: number };
}) {
  const calls = { probe: 0, lowBandwidth: 0 };
  const sig = opts.signature;
  let bound: Uint32Array | undefined;
  const b: NativeBinding = {
    arch: opts.arch ?? 'x64',
    abiVersion: 1,
    cpuid(leaf) {
      if (opts.arch === 'arm64') return null;
      if (leaf === 1) return Uint32Array.of(0, 0, sig === null ? 0 : 0x80000000, 0);
      const s = Buffer.alloc(12);
      s.write(sig ?? '', 'latin1');
      return Uint32Array.of(0x40000010, s.readUInt32LE(0), s.readUInt32LE(4), s.readUInt32LE(8));
    },
    probe(regs, _t) {
      calls.probe++;
      return opts.probe ? opts.probe(regs) : { ok: false, signal: 11, timedOut: false, errno: 0 };
    },
    lowBandwidth(regs) {
      calls.lowBandwidth++;
      regs[0] = 6;
      regs[1] = BDOOR_MAGIC;
    },
    bindBlock(regs) {
      bound = regs;
    },
    lowBandwidthBound() {
      b.lowBandwidth(bound!);
    },
    hbIn() {
      throw new Error('unexpected');
    },
    hbOut() {
      throw new Error('unexpected');
    },
  };
  return { b, calls };
}

const answers = (regs: Uint32Array) => {
  regs[0] = 6;
  regs[1] = BDOOR_MAGIC;
  regs[2] = 4;
  return { ok: true, signal: 0, timedOut: false, errno: 0 };
};
const env = {};

describe('detect', () => {
  it.each([
    ['KVMKVMKVM', 'KVM'],
    ['XenVMMXenVMM', 'Xen'],
    ['Microsoft Hv', 'Hyper-V'],
  ])('refuses %s without probing, naming %s', (signature, name) => {
    const { b, calls } = fakeBinding({ signature });
    const d = detect({ binding: b, env });
    expect(d).toMatchObject({ available: false, reason: `hypervisor:${name}` });
    expect(d.message).toContain(name);
    expect(calls.probe).toBe(0);
  });

  it('refuses bare metal without probing', () => {
    const { b, calls } = fakeBinding({ signature: null });
    expect(detect({ binding: b, env }).reason).toBe('no-hypervisor');
    expect(calls.probe).toBe(0);
  });

  it('probes on VMware and reports the product', () => {
    const { b, calls } = fakeBinding({ signature: 'VMwareVMware', probe: answers });
    const d = detect({ binding: b, env });
    expect(d).toMatchObject({
      available: true,
      reason: 'vmware',
      version: { version: 6, productType: 4, productName: 'Workstation' },
    });
    expect(calls.probe).toBe(1);
  });

  it('probes an unknown signature (QEMU TCG)', () => {
    const { b } = fakeBinding({ signature: 'TCGTCGTCGTCG', probe: answers });
    expect(detect({ binding: b, env })).toMatchObject({
      available: true,
      reason: 'probed',
      cpu: { hypervisor: 'QEMU TCG' },
    });
  });

  it('names a hypervisor whose signature is padded with blanks (bhyve), and probes it safely', () => {
    const { b, calls } = fakeBinding({ signature: 'bhyve bhyve ' });
    expect(detect({ binding: b, env })).toMatchObject({
      available: false,
      reason: 'fault:SIGSEGV',
      cpu: { signature: 'bhyve bhyve ', hypervisor: 'bhyve' },
    });
    expect(calls.probe).toBe(1);
  });

  it('force probes even on KVM, by option or VMW9_BACKDOOR=force', () => {
    for (const opts of [{ force: true, env }, { env: { VMW9_BACKDOOR: 'force' } }]) {
      const { b, calls } = fakeBinding({ signature: 'KVMKVMKVM' });
      const d = detect({ binding: b, ...opts });
      expect(d).toMatchObject({
        available: false,
        reason: 'fault:SIGSEGV',
        forced: true,
        probe: { signal: 'SIGSEGV' },
      });
      expect(calls.probe).toBe(1);
    }
  });

  it('reports a port that answers without the magic (vmport=off)', () => {
    const { b } = fakeBinding({
      signature: 'TCGTCGTCGTCG',
      probe: (regs) => {
        regs[0] = 0xffffffff;
        return { ok: true, signal: 0, timedOut: false, errno: 0 };
      },
    });
    expect(detect({ binding: b, env })).toMatchObject({ available: false, reason: 'no-magic' });
  });

  it('reports a probe timeout', () => {
    const { b } = fakeBinding({
      signature: 'TCGTCGTCGTCG',
      probe: () => ({ ok: false, signal: 0, timedOut: true, errno: 0 }),
    });
    expect(detect({ binding: b, env }).reason).toBe('timeout');
  });

  it('VMW9_BACKDOOR=off disables the native transport', () => {
    const { b, calls } = fakeBinding({ signature: 'VMwareVMware', probe: answers });
    expect(detect({ binding: b, env: { VMW9_BACKDOOR: 'off' } }).reason).toBe('disabled');
    expect(calls.probe).toBe(0);
  });

  it('on arm64 without a VMware DMI vendor, refuses unless forced', () => {
    const { b, calls } = fakeBinding({ arch: 'arm64' });
    const d = detect({ binding: b, env });
    // This test machine is not VMware, so DMI does not say VMware.
    expect(d).toMatchObject({ available: false, reason: 'not-vmware', cpu: { hypervisorBit: null } });
    expect(calls.probe).toBe(0);
    expect(detect({ binding: b, env, force: true }).probe?.signal).toBe('SIGSEGV');
  });
});

describe('NativeBackdoorPort', () => {
  it('refuses to open where detection fails, with its reason', () => {
    const { b } = fakeBinding({ signature: 'KVMKVMKVM' });
    expect(() => NativeBackdoorPort.open({ binding: b, env })).toThrow(
      expect.objectContaining({ name: 'BackdoorUnavailable', reason: 'hypervisor:KVM' }),
    );
  });

  it('checks registers and buffers before the instruction is issued', async () => {
    const { b, calls } = fakeBinding({ signature: 'VMwareVMware', probe: answers });
    const port = NativeBackdoorPort.open({ binding: b, env });
    const regs = { eax: BDOOR_MAGIC, ebx: 0, ecx: 10, edx: 0x5658, esi: 0, edi: 0, ebp: 0 };
    expect(() => port.callSync({ ...regs, ebx: -1 })).toThrow(TypeError);
    await expect(port.call({ ...regs, ecx: 2 ** 32 })).rejects.toThrow(TypeError);
    await expect(port.hbOut(regs, 'text' as unknown as Uint8Array)).rejects.toThrow(TypeError);
    expect(calls.lowBandwidth).toBe(0);
    expect(await port.call(regs)).toMatchObject({ eax: 6, ebx: BDOOR_MAGIC });
    expect(calls.lowBandwidth).toBe(1);
  });
});
