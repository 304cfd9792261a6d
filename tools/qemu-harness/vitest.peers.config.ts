import { defineProject } from 'vitest/config';

// Real peer: each test boots a QEMU TCG guest (about 2 s boot + the command).
// One file at a time: the machine has two cores and TCG is CPU-bound.
export default defineProject({
  test: {
    name: 'qemu-harness-peers',
    include: ['test/**/*.peer.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
