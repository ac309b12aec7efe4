import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Finds (or installs) Chromium and Redis for the files of the run, or stops it with one line.
    globalSetup: ['test/setup/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Two cores here: more workers only make the servers under test fight for them.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
