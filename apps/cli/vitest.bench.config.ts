import { defineProject } from 'vitest/config';

// Benchmarks (`pnpm bench`): the soak of vmw9 serve and the agent under the floods of issue 13.
export default defineProject({
  test: {
    name: 'cli-bench',
    include: ['bench/**/*.bench.ts'],
    testTimeout: 900_000,
    fileParallelism: false,
  },
});
