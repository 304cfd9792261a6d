import { defineProject } from 'vitest/config';

// Real peers: the Linux kernel 9p client inside the QEMU TCG guest (all three dialects) and diod
// (its diodls/diodcat against us, our client against it). One file at a time (two cores).
export default defineProject({
  test: {
    name: 'ninep-peers',
    include: ['test/**/*.peer.test.ts'],
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 120_000,
  },
});
