import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['worker/test/**/*.test.ts', 'electron/test/**/*.test.ts', 'renderer/test/**/*.test.ts'],
    globalSetup: ['worker/test/globalSetup.ts'],
    setupFiles: ['worker/test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Integration tests start real Python workers; two cores run two files at once at most.
    maxWorkers: 2,
  },
});
