import { BlockList, isIP } from 'node:net';

/** 127.0.0.0/8 and ::1; BlockList also matches their IPv4-mapped IPv6 forms (::ffff:127.0.0.1). */
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * True when a gateway listening on `host` is reachable from this machine only. A host name other than `localhost`
 * counts as not loopback: what it resolves to is not known here, and guessing wrong would hand out a token.
 */
export function isLoopbackHost(host: string): boolean {
  const family = isIP(host);
  if (family === 4) return loopback.check(host, 'ipv4');
  if (family === 6) return loopback.check(host, 'ipv6');
  return /^localhost\.?$/i.test(host);
}

/** The lifetime of the development token when nothing shortens it. */
export const DEVELOPMENT_TOKEN_SECONDS = 7 * 24 * 3600;

export type DevelopmentTokenPlan =
  | { readonly issue: true; readonly lifetimeSeconds: number }
  | { readonly issue: false; readonly reason: string };

/**
 * Whether a development gateway mints an all-scopes token for its explorer and log, and for how long. Only on a
 * loopback address: anyone who can reach the explorer page can read the token in it.
 */
export function developmentTokenPlan(settings: {
  HOST: string;
  AUTH_MAX_TOKEN_LIFETIME?: number | undefined;
  authSecretGenerated?: boolean;
}): DevelopmentTokenPlan {
  if (!isLoopbackHost(settings.HOST)) {
    // With a generated secret nobody could mint a token this gateway accepts.
    const secret = settings.authSecretGenerated ? 'set AUTH_JWT_SECRET, then ' : '';
    return {
      issue: false,
      reason: `HOST=${settings.HOST} is not a loopback address (127.0.0.0/8, ::1, localhost), so no development token is embedded in the explorer or printed: ${secret}mint one with \`npm run token -- --sub <you> --scope "<scopes>"\` and the same AUTH_JWT_SECRET, or listen on HOST=127.0.0.1`,
    };
  }
  // A token longer than AUTH_MAX_TOKEN_LIFETIME would be refused by this very gateway.
  return {
    issue: true,
    lifetimeSeconds: Math.min(DEVELOPMENT_TOKEN_SECONDS, settings.AUTH_MAX_TOKEN_LIFETIME ?? Number.POSITIVE_INFINITY),
  };
}
