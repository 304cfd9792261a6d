/**
 * The real addon on this machine. Our CI machines are KVM guests without I/O privilege, where the
 * backdoor instruction faults: the forced probe must report the fault while this process lives on.
 */
import { describe, expect, it } from 'vitest';
import { cpuInfo, detect, loadBinding } from '../src/index.js';

const binding = loadBinding();
const cpu = cpuInfo(binding);

describe('the compiled addon', () => {
  it('loads from the per-platform package and knows its architecture', () => {
    expect(binding.arch).toBe(process.arch);
    expect(binding.abiVersion).toBe(1);
  });

  it('reads CPUID (leaf 0 names the CPU vendor)', () => {
    const l0 = binding.cpuid(0, 0)!;
    const vendor = Buffer.alloc(12);
    vendor.writeUInt32LE(l0[1]!, 0);
    vendor.writeUInt32LE(l0[3]!, 4);
    vendor.writeUInt32LE(l0[2]!, 8);
    expect(vendor.toString('latin1')).toMatch(/^[\x20-\x7e]{12}$/);
    expect(l0[0]).toBeGreaterThan(0);
  });

  it('type-checks its arguments in C++ too', () => {
    expect(() => binding.lowBandwidth(new Uint32Array(6))).toThrow(/Uint32Array of 7/);
    expect(() => binding.lowBandwidth(new Int32Array(7) as unknown as Uint32Array)).toThrow(TypeError);
    expect(() => binding.hbOut(new Uint32Array(7), [1] as unknown as Uint8Array)).toThrow(/Uint8Array/);
  });

  it.runIf(cpu.signature === 'KVMKVMKVM')(
    'on this KVM machine: refuses without probing and names KVM',
    () => {
      const d = detect({ env: {} });
      expect(d).toMatchObject({ available: false, reason: 'hypervisor:KVM' });
      expect(d.probe).toBeUndefined();
    },
  );

  it.runIf(cpu.hypervisor !== 'VMware')(
    'a forced probe faults in its child and this process lives on',
    () => {
      const t0 = Date.now();
      const d = detect({ force: true, env: {} });
      expect(d.available).toBe(false);
      expect(d.reason).toMatch(/^fault:SIG(SEGV|ILL|BUS)$|^no-magic$/);
      expect(Date.now() - t0).toBeLessThan(3000);
      // Still alive, and a second probe behaves the same.
      expect(detect({ force: true, env: {} }).reason).toBe(d.reason);
    },
  );
});

describe('a platform without a binary', () => {
  it('imports fine, and the first use gives one clear error naming the missing package', async () => {
    const { spawnSync } = await import('node:child_process');
    const entry = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      Object.defineProperty(process, 'arch', { value: 'riscv64' });
      const m = await import(${JSON.stringify(entry)});
      const d = m.detect({ env: {} });
      let thrown;
      try { m.NativeBackdoorPort.open({ env: {} }); } catch (e) { thrown = { name: e.name, reason: e.reason }; }
      console.log(JSON.stringify({ d, thrown }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, VMW9_BACKDOOR_NATIVE_PATH: '' },
    });
    expect(r.status).toBe(0);
    const { d, thrown } = JSON.parse(r.stdout);
    expect(d).toMatchObject({ available: false, reason: 'no-binary' });
    expect(d.message).toContain('@vmw9/backdoor-native-linux-riscv64');
    expect(d.message).toMatch(/npm install --include=optional/);
    expect(thrown).toEqual({ name: 'BackdoorUnavailable', reason: 'no-binary' });
  });
});
