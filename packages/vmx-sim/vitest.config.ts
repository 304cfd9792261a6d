import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'vmx-sim', include: ['test/**/*.test.ts'], exclude: ['test/**/*.peer.test.ts'] },
});
