/**
 * The development AUTH_JWT_SECRET kept in .cache/dev-auth-secret (git-ignored), so
 * that `npm run dev` signs with the same secret after a restart and `npm run token`
 * can mint tokens it accepts.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const devSecretFile = '.cache/dev-auth-secret';
const path = fileURLToPath(new URL(`../${devSecretFile}`, import.meta.url));

/** The stored secret, or undefined when the file does not exist. */
export function readDevSecret(): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The stored secret, created (32 random bytes, base64url, mode 0600) when missing. */
export function ensureDevSecret(): string {
  const existing = readDevSecret();
  if (existing !== undefined) return existing;
  const secret = randomBytes(32).toString('base64url');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}
