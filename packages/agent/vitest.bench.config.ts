import { defineProject } from 'vitest/config';

// Benchmarks (`pnpm bench`): each prints ratios against a peer measured in the same run.
export default defineProject({
  test: {
    name: 'agent-bench',
    include: ['bench/**/*.bench.ts'],
    testTimeout: 600_000,
    fileParallelism: false,
  },
});
