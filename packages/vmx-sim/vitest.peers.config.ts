import { defineProject } from 'vitest/config';

// Real peers: unmodified open-vm-tools (vmware-checkvm, vmware-rpctool, vmtoolsd) under vmx-trap,
// on this machine and inside the QEMU TCG guest. One file at a time (two cores).
export default defineProject({
  test: {
    name: 'vmx-sim-peers',
    include: ['test/**/*.peer.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
