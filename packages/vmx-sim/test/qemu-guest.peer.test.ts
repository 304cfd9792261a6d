/**
 * The untouched open-vm-tools binaries inside the QEMU TCG guest (docs/testing.md §3–§4), under vmx-trap
 * against a `vmw9 sim` running in the same guest. There the CPUID signature is TCGTCGTCGTCG, which
 * open-vm-tools accepts after its Xen probe, so the launcher needs no CPUID tricks (--cpuid pass).
 * No I/O privilege and vmport=off: every backdoor instruction traps to vmx-trap.
 */
import { runGuest } from '@vmw9/qemu-harness';
import { describe, expect, it } from 'vitest';

describe('open-vm-tools inside the QEMU guest', () => {
  it('checkvm and rpctool under vmx-trap --cpuid pass against vmw9 sim', async () => {
    const script = `
      S=/dev/shm/host.sock
      node apps/cli/dist/bin.js sim --listen "unix!$S" --set productType=4 </dev/null 2>/dev/shm/sim.log &
      SIM=$!
      for i in $(seq 200); do [ -S $S ] && break; sleep 0.1; done
      T="packages/vmx-sim-linux-x64/vmx-trap --host unix!$S --cpuid pass -q --"
      echo "checkvm: $($T vmware-checkvm)"
      echo "product: $($T vmware-checkvm -p)"
      $T vmware-rpctool "info-set guestinfo.where inside-the-guest"; echo "set-exit: $?"
      echo "get: $($T vmware-rpctool 'info-get guestinfo.where')"
      $T vmware-rpctool "no.such.command" 2>/dev/null; echo "unknown-exit: $?"
      kill $SIM; wait $SIM`;
    const r = await runGuest({
      qemuArgs: ['-machine', 'pc,vmport=off'],
      ioperm: false,
      command: ['sh', '-c', script],
      timeoutMs: 120_000,
    });
    if (r.exitCode !== 0) console.log(r.stdout);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('checkvm: VMware software version 6 (good)\n');
    expect(r.stdout).toContain('product: Workstation\n');
    expect(r.stdout).toContain('set-exit: 0\n');
    expect(r.stdout).toContain('get: inside-the-guest\n');
    expect(r.stdout).toContain('unknown-exit: 1\n');
  });
});
