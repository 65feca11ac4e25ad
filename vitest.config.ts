import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Threads break Temporal's native bridge; each test file runs in its own process.
    pool: 'forks',
    globalSetup: ['test/setup/global.ts'],
    setupFiles: ['test/setup/runtime.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: true,
    maxWorkers: 2,
  },
});
