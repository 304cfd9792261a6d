import { defineProject } from 'vitest/config';

// Benchmarks (`pnpm bench`): each prints ratios against a peer measured in the same run.
export default defineProject({
  test: { name: 'rpc-bench', include: ['bench/**/*.bench.ts'], testTimeout: 300_000, fileParallelism: false },
});
