/**
 * Mints an access token: npm run -s token -- --sub alice --scope "orders:write" --accounts acc-1,acc-2 [--ttl 3600]
 * Signs with AUTH_JWT_SECRET, or else with the secret `npm run dev` keeps in .cache/dev-auth-secret.
 * Reads AUTH_JWT_AUDIENCE, AUTH_JWT_ISSUER and AUTH_MAX_TOKEN_LIFETIME as the gateway does: the token carries the
 * audience and issuer it requires, and a --ttl it would refuse is refused here.
 * Only the token goes to stdout.
 */
import { parseArgs } from 'node:util';
import { mintAccessToken } from '../src/adapters/auth/access-tokens.js';
import { ConfigError, loadTokenSettings, type TokenSettings } from '../src/config.js';
import { SCOPES } from '../src/domain/caller.js';
import { buildGatewayGraphQL } from '../src/graphql/schema.js';
import { parseSchemaPaths } from '../src/graphql/schema-sources.js';
import { devSecretFile, readDevSecret } from './dev-secret.js';
import { endInOneLine } from './fail-in-one-line.js';

endInOneLine('token');

const usage = 'usage: npm run -s token -- --sub <caller> [--scope "<scopes>"] [--accounts a,b] [--ttl <seconds>]';
function fail(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(2);
}

let values: { sub?: string; scope: string; accounts?: string; ttl: string };
try {
  ({ values } = parseArgs({
    options: {
      sub: { type: 'string' },
      scope: { type: 'string', default: '' },
      accounts: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      // Read by fail-in-one-line.ts: a failure's stack trace after its line.
      verbose: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  fail(`token: ${(error as Error).message}; ${usage}`);
}

const sub = values.sub || fail(`token: --sub is required; ${usage}`);
const scope = values.scope.split(/[\s,]+/).filter(Boolean);
const malformed = scope.filter((s) => !/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/.test(s));
if (malformed.length > 0) fail(`token: malformed scope ${malformed.join(', ')}; a scope is letters, digits and . _ : / -`);
// The gateway's own scopes and the readScope of every declared field it would load here: anything else is minted
// (a declaration may live in a SCHEMA_PATHS this shell does not set), with a note in case it is a typo.
const known = new Set<string>([...SCOPES, ...declaredReadScopes()]);
const unknown = scope.filter((s) => !known.has(s));
if (unknown.length > 0) {
  process.stderr.write(
    `token: note: no declaration loaded here reads ${unknown.join(', ')} (known: ${[...known].join(', ')}); minted anyway\n`,
  );
}
function declaredReadScopes(): string[] {
  try {
    return buildGatewayGraphQL({ schemaPaths: parseSchemaPaths(process.env.SCHEMA_PATHS) }).topics.map((t) => t.declaration.readScope);
  } catch {
    // A schema that does not load is the gateway's to report; minting does not depend on it.
    return [];
  }
}

if (!/^[1-9]\d*$/.test(values.ttl)) fail('token: --ttl must be a positive whole number of seconds');
let settings: TokenSettings;
try {
  settings = loadTokenSettings();
} catch (error) {
  if (error instanceof ConfigError) fail(`token: ${error.message}`);
  throw error;
}
const maxLifetime = settings.AUTH_MAX_TOKEN_LIFETIME;
if (maxLifetime !== undefined && Number(values.ttl) > maxLifetime) {
  fail(`token: --ttl ${values.ttl} is longer than AUTH_MAX_TOKEN_LIFETIME (${maxLifetime} s): the gateway would refuse the token`);
}

let secret = process.env.AUTH_JWT_SECRET;
let source = 'AUTH_JWT_SECRET';
if (!secret) {
  secret =
    readDevSecret() ?? fail('token: set AUTH_JWT_SECRET to the gateway secret, or run `npm run dev` once to create a development one');
  source = devSecretFile;
  process.stderr.write(`token: AUTH_JWT_SECRET is unset; signing with ${devSecretFile}, the secret npm run dev uses\n`);
}
if (secret.length < 32) fail(`token: ${source} is shorter than 32 characters; the gateway would reject its tokens`);

const accounts = values.accounts
  ?.split(',')
  .map((a) => a.trim())
  .filter(Boolean);
const token = await mintAccessToken(secret, {
  sub,
  scope,
  ...(accounts && { accounts }),
  expiresInSeconds: Number(values.ttl),
  ...(settings.AUTH_JWT_AUDIENCE !== undefined && { audience: settings.AUTH_JWT_AUDIENCE }),
  ...(settings.AUTH_JWT_ISSUER !== undefined && { issuer: settings.AUTH_JWT_ISSUER }),
});
process.stdout.write(`${token}\n`);
