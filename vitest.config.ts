import { defineConfig } from 'vitest/config';

// Every package has a unit project (vitest.config.ts) and, where it tests against a real peer
// (QEMU, open-vm-tools, the Linux 9P client, diod), a `<name>-peers` project (vitest.peers.config.ts).
// scripts/test.mjs chooses between them and prints the totals line CI reads.
export default defineConfig({
  test: {
    projects: [
      'packages/*/vitest.config.ts',
      'packages/*/vitest.peers.config.ts',
      'apps/*/vitest.config.ts',
      'apps/*/vitest.peers.config.ts',
      'tools/*/vitest.config.ts',
      'tools/*/vitest.peers.config.ts',
    ],
  },
});
