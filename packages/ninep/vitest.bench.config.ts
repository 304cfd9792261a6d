import { defineProject } from 'vitest/config';

// Benchmarks (`pnpm bench`): ninep-ramfs against diod (tmpfs export), same client, same run.
export default defineProject({
  test: {
    name: 'ninep-bench',
    include: ['bench/**/*.bench.ts'],
    testTimeout: 600_000,
    fileParallelism: false,
  },
});
