import { defineProject } from 'vitest/config';

// Real peers: QEMU's vmport/vmmouse in a TCG guest, and an arm64 Node under qemu-user.
// One file at a time: each boots an emulator and the machine has two cores.
export default defineProject({
  test: {
    name: 'backdoor-native-peers',
    include: ['test/**/*.peer.test.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
