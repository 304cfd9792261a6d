import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'backdoor-native', include: ['test/**/*.test.ts'], exclude: ['test/**/*.peer.test.ts'] },
});
