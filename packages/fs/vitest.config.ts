import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'fs', include: ['test/**/*.test.ts'], exclude: ['test/**/*.peer.test.ts'] },
});
