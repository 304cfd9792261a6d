import { defineProject } from 'vitest/config';

// Real peer: the Linux kernel's 9P client in the QEMU TCG guest mounting the tree.
export default defineProject({
  test: {
    name: 'fs-peers',
    include: ['test/**/*.peer.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 60_000,
  },
});
