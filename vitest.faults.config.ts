import { defineConfig } from 'vitest/config';
import { oneGraphqlRealm } from './vitest.config.js';

// The fault suite (`npm run test:faults`): one file, a broker and a PostgreSQL server of its own, phases in order.
export default defineConfig({
  resolve: oneGraphqlRealm,
  test: {
    include: ['test/faults/**/*.test.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
