import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'dndcp',
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.peer.test.ts'],
    // Sized for a slow, busy machine (CI shares 2 cores): a limit here catches a hang, never a slow pass.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
