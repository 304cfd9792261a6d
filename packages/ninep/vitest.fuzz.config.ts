import { defineProject } from 'vitest/config';

// The long decoder fuzz run (`pnpm --filter ninep fuzz`): NINEP_FUZZ_FRAMES frames (default 1,000,000).
export default defineProject({
  test: { name: 'ninep-fuzz', include: ['test/**/*.fuzz.ts'], testTimeout: 3_600_000 },
});
