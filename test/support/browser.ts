import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';
import { EXPLORER_ASSETS_DIR } from '../../src/app.js';
import { explorerAssetsExist } from '../../src/transport/explorer.js';

/** Debian's chromium, headless, with the flags that keep it off the network. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
  });

/** `npm test` builds the explorer first (pretest); a direct vitest run of one file may find none. */
export async function ensureExplorerBuilt(): Promise<void> {
  if (!explorerAssetsExist(EXPLORER_ASSETS_DIR)) {
    await build({ configFile: new URL('../../explorer/vite.config.ts', import.meta.url).pathname, logLevel: 'warn' });
  }
}
