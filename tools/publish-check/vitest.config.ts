import { defineProject } from 'vitest/config';

// Packs every publishable package and installs each one alone from its tarball with npm (third-party
// dependencies from the registry, through npm's shared cache). One file at a time: two cores.
export default defineProject({
  test: {
    name: 'publish-check',
    include: ['test/**/*.test.ts'],
    testTimeout: 300000,
    hookTimeout: 300000,
    fileParallelism: false,
  },
});
