/**
 * The arm64 code path (VMware Fusion on Apple silicon) cannot run for real here, but it can be
 * built with Debian's cross compiler and loaded by an arm64 Node under qemu-user: the addon must
 * load from its per-platform package and refuse safely, plainly and when forced.
 * Under qemu-user the MDCCSR_EL0 trap does not fault; it returns the registers unchanged, so the
 * refusal is the missing magic.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const armNode = join(root, 'node_modules/.cache/vmw9-arm64node/package/bin/node');
const sysroot = '/usr/aarch64-linux-gnu';
const addon = join(root, 'packages/backdoor-native-linux-arm64/backdoor.node');
const selftest = join(root, 'packages/backdoor-native-linux-arm64/build/selftest-arm64');

describe('arm64 under qemu-user', () => {
  it('has the prerequisites (install-deps.sh ran)', () => {
    expect(existsSync(armNode), armNode).toBe(true);
    expect(existsSync(addon), addon).toBe(true);
    const kind = execFileSync('file', ['-b', addon], { encoding: 'utf8' });
    expect(kind).toMatch(/ELF 64-bit LSB shared object, ARM aarch64/);
  });

  it('the addon loads in an arm64 Node and refuses safely, plainly and forced', () => {
    const script = join(tmpdir(), `vmw9-arm64-${process.pid}.mjs`);
    writeFileSync(
      script,
      `const m = await import(${JSON.stringify(join(root, 'packages/backdoor-native/dist/index.js'))});
       const plain = m.detect({ env: {} });
       const forced = m.detect({ force: true, env: {} });
       console.log(JSON.stringify({ arch: process.arch, binding: m.loadBinding().arch, plain, forced }));`,
    );
    const out = execFileSync('qemu-aarch64', ['-L', sysroot, armNode, script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const r = JSON.parse(out);
    expect(r.arch).toBe('arm64');
    expect(r.binding).toBe('arm64');
    // No CPUID on arm64: DMI decides, and this machine is not VMware.
    expect(r.plain).toMatchObject({ available: false, reason: 'not-vmware', cpu: { hypervisorBit: null } });
    expect(r.plain.probe).toBeUndefined();
    // Forced: the trap is issued in a child and comes back without the magic.
    expect(r.forced).toMatchObject({
      available: false,
      reason: 'no-magic',
      forced: true,
      probe: { ok: true },
    });
    expect(r.forced.probe.ebx).toBe(0xa9b2a797);
  });

  it('a static arm64 selftest over the same backdoor code runs the probe to completion', () => {
    execFileSync(
      'node',
      [join(root, 'packages/backdoor-native/scripts/build-native.mjs'), 'arm64', '--selftest'],
      {
        cwd: join(root, 'packages/backdoor-native-linux-arm64'),
        stdio: 'ignore',
      },
    );
    const out = execFileSync('qemu-aarch64', [selftest], { encoding: 'utf8', timeout: 30_000 });
    expect(out).toBe('probe ok eax=564d5868 ebx=a9b2a797 ecx=ffff000a\n');
  });
});
