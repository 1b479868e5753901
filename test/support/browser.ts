import { type Browser, chromium } from 'playwright-core';
import { build } from 'vite';
import { EXPLORER_ASSETS_DIR } from '../../src/app.js';
import { explorerAssetsExist } from '../../src/transport/explorer.js';
import { chromiumExecutable } from './chromium-executable.js';

/** Chromium (CHROMIUM_PATH, else the npm package's, else Debian's: see chromium-executable.ts), headless, with the flags that keep it off the network. */
export const launchChromium = async (): Promise<Browser> => {
  const { path, env } = await chromiumExecutable();
  return chromium.launch({
    executablePath: path,
    env: { ...definedEnv(), ...env },
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
};

const definedEnv = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((entry): entry is [string, string] => entry[1] !== undefined));

/** `npm test` builds the explorer first (pretest); a direct vitest run of one file may find none. */
export async function ensureExplorerBuilt(): Promise<void> {
  if (!explorerAssetsExist(EXPLORER_ASSETS_DIR)) {
    await build({ configFile: new URL('../../explorer/vite.config.ts', import.meta.url).pathname, logLevel: 'warn' });
  }
}
