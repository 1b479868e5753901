import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Node resolves `graphql` (no "exports" field) to its CommonJS build everywhere; Vite would
// pick index.mjs for our own files, leaving two graphql realms in one process.
const graphqlAsNodeResolvesIt = fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url));

export default defineConfig({
  resolve: { alias: [{ find: /^graphql$/, replacement: graphqlAsNodeResolvesIt }] },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files each start real processes; two cores run two at a time well.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
