import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Node resolves `graphql` (no "exports" field) to its CommonJS build everywhere; Vite would
// pick index.mjs for our own files, leaving two graphql realms in one process.
const graphqlAsNodeResolvesIt = fileURLToPath(new URL('./node_modules/graphql/index.js', import.meta.url));
export const oneGraphqlRealm = { alias: [{ find: /^graphql$/, replacement: graphqlAsNodeResolvesIt }] };

export default defineConfig({
  resolve: oneGraphqlRealm,
  test: {
    include: ['test/**/*.test.ts'],
    // The fault suite runs on its own, after these (vitest.faults.config.ts).
    exclude: ['test/faults/**', 'node_modules/**'],
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
