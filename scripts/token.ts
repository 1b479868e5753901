/**
 * Mints an access token: npm run token -- --sub alice --scope "orders:write" --accounts acc-1,acc-2 [--ttl 3600]
 * Signs with AUTH_JWT_SECRET from the environment.
 */
import { parseArgs } from 'node:util';
import { mintAccessToken } from '../src/adapters/auth/access-tokens.js';
import { SCOPES } from '../src/domain/caller.js';

const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    scope: { type: 'string', default: '' },
    accounts: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
  },
});
const fail = (line: string): never => {
  process.stderr.write(`token: ${line}\n`);
  process.exit(2);
};
const secret = process.env.AUTH_JWT_SECRET ?? fail("set AUTH_JWT_SECRET to the gateway's secret");
const sub = values.sub ?? fail('--sub is required, e.g. --sub alice');
const scope = values.scope.split(/[\s,]+/).filter(Boolean);
const unknown = scope.filter((s) => !(SCOPES as readonly string[]).includes(s));
if (unknown.length > 0) fail(`unknown scope ${unknown.join(', ')}; use ${SCOPES.join(', ')}`);
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl <= 0) fail('--ttl must be a positive number of seconds');
const accounts = values.accounts
  ?.split(',')
  .map((a) => a.trim())
  .filter(Boolean);
process.stdout.write(`${await mintAccessToken(secret, { sub, scope, ...(accounts && { accounts }), expiresInSeconds: ttl })}\n`);
