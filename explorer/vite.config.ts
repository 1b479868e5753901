import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  // Where src/transport/explorer.ts serves the hashed assets (EXPLORER_ASSETS_PATH there).
  base: '/graphql/explorer/',
  publicDir: false,
  worker: { format: 'es' },
  build: {
    outDir: fileURLToPath(new URL('../dist/explorer', import.meta.url)),
    emptyOutDir: true,
    // Monaco and GraphiQL are large by nature; the bundle is served locally with long-lived caching.
    chunkSizeWarningLimit: 5000,
    rolldownOptions: {
      // framer-motion's "use client" directives mean nothing outside React Server Components.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
