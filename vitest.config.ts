import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration tests start CLI processes and PostgreSQL work; two files at a time suits 2 cores.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
