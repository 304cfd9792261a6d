import { defineProject } from 'vitest/config';

// Real peer: `vmw9 mount` with the Linux kernel's 9P client, as root, in the QEMU guest.
export default defineProject({
  test: {
    name: 'cli-peers',
    include: ['test/**/*.peer.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
  },
});
