/**
 * Ground truth for the low-bandwidth backdoor and the vmmouse: QEMU's vmport in a TCG guest
 * (docs/testing.md §3). The guest runs this machine's own node and our CLI from the
 * read-only shared checkout, with ioperm(0x5658,4,1) granted by the harness's root wrapper.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Qmp, type RunningGuest, runGuest } from '@vmw9/qemu-harness';
import { describe, expect, it } from 'vitest';

const CLI = 'node apps/cli/dist/bin.js';
/** Runs `vmw9 detect --json` then `vmw9 host --json` in one boot; returns both parsed, with exit codes. */
function cliScript(): string[] {
  return [
    'sh',
    '-c',
    `${CLI} detect --json; echo "@@detect-exit $?"; ${CLI} host --json; echo "@@host-exit $?"`,
  ];
}
function parseCli(stdout: string) {
  const m = /^([\s\S]*?)@@detect-exit (\d+)\n([\s\S]*?)@@host-exit (\d+)/.exec(stdout);
  if (!m) throw new Error(`unexpected guest output:\n${stdout}`);
  return {
    detect: JSON.parse(m[1]!),
    detectExit: Number(m[2]),
    host: JSON.parse(m[3]!),
    hostExit: Number(m[4]),
  };
}

describe('QEMU vmport (TCG guest)', () => {
  it.each([
    { version: 6, type: 2, uuid: '12345678-9abc-def0-1122-334455667788', mem: 512, product: 'ESX Server' },
    { version: 7, type: 4, uuid: 'a1b2c3d4-0000-4000-8000-00000000beef', mem: 4200, product: 'Workstation' },
  ])('version $version / type $type, -uuid, -m $mem: every fact as QEMU set it', async (c) => {
    const r = await runGuest({
      qemuArgs: [
        '-machine',
        'pc,vmport=on',
        '-m',
        String(c.mem),
        '-uuid',
        c.uuid,
        '-global',
        `vmport.vmware-vmx-version=${c.version}`,
        '-global',
        `vmport.vmware-vmx-type=${c.type}`,
      ],
      command: cliScript(),
      timeoutMs: 150_000,
    });
    expect(r.exitCode).toBe(0);
    const { detect, detectExit, host, hostExit } = parseCli(r.stdout);
    // TCG's CPUID signature is unknown to us, so detection probed and found the backdoor.
    expect(detectExit).toBe(0);
    expect(detect).toMatchObject({
      available: true,
      reason: 'probed',
      cpu: { signature: 'TCGTCGTCGTCG', hypervisor: 'QEMU TCG' },
    });
    expect(detect.version).toEqual({ version: c.version, productType: c.type, productName: c.product });
    expect(hostExit).toBe(0);
    const f = host.facts;
    expect(f.version.value).toEqual({ version: c.version, productType: c.type, productName: c.product });
    expect(f.biosUuid.value).toBe(c.uuid);
    // QEMU answers bytes cut to 32 bits (VMware answers MB): 512 MiB fits, 4200 MiB wraps.
    const bytes = (c.mem * 1048576) % 2 ** 32;
    expect(f.memory.value).toEqual({
      unit: 'bytes',
      raw: bytes,
      megabytes: bytes / 1048576,
      truncated: true,
    });
    // Commands QEMU 7.2 does not implement: typed UnsupportedCommand, never a made-up value.
    for (const name of ['hostTime', 'cpuMhz', 'screenSize', 'hardwareVersion', 'tsc']) {
      expect(f[name], name).toMatchObject({ supported: false });
      expect(f[name].error, name).toMatch(/is not supported by this host/);
    }
  });

  it('vmport=off: detection reports unavailable and the process lives on', async () => {
    const r = await runGuest({
      qemuArgs: ['-machine', 'pc,vmport=off'],
      command: ['sh', '-c', `${CLI} detect --json; echo "@@exit $?"`],
    });
    const m = /([\s\S]*)@@exit (\d+)/.exec(r.stdout)!;
    expect(Number(m[2])).toBe(1);
    expect(JSON.parse(m[1]!)).toMatchObject({
      available: false,
      reason: 'no-magic',
      probe: { ok: true, eax: 0xffffffff },
    });
  });

  it('without I/O privilege the probe faults in its child; detect exits 1 instead of dying', async () => {
    const r = await runGuest({
      qemuArgs: ['-machine', 'pc,vmport=on'],
      ioperm: false,
      command: ['sh', '-c', `${CLI} detect --json; echo "@@exit $?"`],
    });
    const m = /([\s\S]*)@@exit (\d+)/.exec(r.stdout)!;
    expect(Number(m[2])).toBe(1);
    expect(JSON.parse(m[1]!)).toMatchObject({
      available: false,
      reason: 'fault:SIGSEGV',
      probe: { signal: 'SIGSEGV' },
    });
  });
});

describe('the backdoor code built for other x86 targets', () => {
  it('x64 and ia32 static selftests (same assembly as the addon) get answers from vmport', async () => {
    const pkg = fileURLToPath(new URL('../../backdoor-native-linux-x64/', import.meta.url));
    for (const arch of ['x64', 'ia32']) {
      execFileSync('node', ['../backdoor-native/scripts/build-native.mjs', arch, '--selftest'], {
        cwd: pkg,
        stdio: 'ignore',
      });
    }
    const r = await runGuest({
      qemuArgs: [
        '-machine',
        'pc,vmport=on',
        '-global',
        'vmport.vmware-vmx-version=7',
        '-global',
        'vmport.vmware-vmx-type=4',
      ],
      command: ['sh', '-c', `${pkg}build/selftest-x64; ${pkg}build/selftest-ia32`],
    });
    // GETVERSION through each build: eax = version, ebx = the magic, ecx = product type.
    expect(r.stdout).toBe('probe ok eax=00000007 ebx=564d5868 ecx=00000004\n'.repeat(2));
  });
});

describe('QEMU vmmouse driven through QMP', () => {
  it('the guest reads the positions, buttons and wheel the host sends', async () => {
    type Packet = {
      left: boolean;
      right: boolean;
      middle: boolean;
      x: number;
      y: number;
      wheel: number;
      relative: boolean;
    };
    const abs = (axis: 'x' | 'y', value: number) => ({ type: 'abs', data: { axis, value } });
    const btn = (button: string, down: boolean) => ({ type: 'btn', data: { button, down } });
    const none = { left: false, right: false, middle: false, relative: false };
    // QEMU scales its 0..0x7FFF absolute range by <<1 (docs/testing.md §3); buttons LEFT 0x20, RIGHT 0x10, MIDDLE 0x08.
    const steps: Array<[unknown[], Partial<Packet>]> = [
      [[abs('x', 0), abs('y', 0)], { ...none, x: 0, y: 0, wheel: 0 }],
      [[abs('x', 16384), abs('y', 8192)], { ...none, x: 32768, y: 16384, wheel: 0 }],
      [[btn('left', true)], { ...none, left: true, x: 32768, y: 16384 }],
      [[btn('left', false)], { ...none, x: 32768, y: 16384 }],
      [[btn('right', true), abs('x', 1000), abs('y', 2000)], { ...none, right: true, x: 2000, y: 4000 }],
      [[btn('right', false)], { ...none, x: 2000, y: 4000 }],
      [[btn('middle', true)], { ...none, middle: true }],
      [[btn('middle', false)], { ...none, middle: false }],
      [[btn('wheel-up', true)], { ...none, wheel: -1 }],
      [[btn('wheel-up', false)], { ...none, wheel: 0 }],
      [[btn('wheel-down', true)], { ...none, wheel: 1 }],
      [[btn('wheel-down', false)], { ...none, wheel: 0 }],
      [[abs('x', 32767), abs('y', 32767)], { ...none, x: 65534, y: 65534 }],
    ];
    const seen: Packet[] = [];
    const r = await runGuest({
      qemuArgs: ['-machine', 'pc,vmport=on'],
      command: ['node', 'packages/backdoor-native/test/guest/mouse-watch.mjs', '100', '90000', '65534,65534'],
      readyMarker: /READY id=0x3442554a/,
      timeoutMs: 150_000,
      onQmp: async (qmp: Qmp, guest: RunningGuest) => {
        for (const [events, want] of steps) {
          await qmp.execute('input-send-event', { events });
          // QEMU may queue a repeat of the previous state (seen around wheel events): skip those,
          // and fail on anything else that is not the state this step set.
          for (;;) {
            const p = JSON.parse((await guest.waitForOutput(/PKT (\{.*\})/, 20_000)).slice(4)) as Packet;
            seen.push(p);
            if (Object.entries(want).every(([k, v]) => p[k as keyof Packet] === v)) break;
            const prev = seen.at(-2);
            expect(
              prev && JSON.stringify(prev) === JSON.stringify(p),
              `unexpected packet ${JSON.stringify(p)} for ${JSON.stringify(events)}`,
            ).toBe(true);
          }
        }
      },
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/DONE \d+/);
    expect(seen.length).toBeGreaterThanOrEqual(steps.length);
  });
});
