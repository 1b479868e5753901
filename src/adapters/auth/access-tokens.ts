import { webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { TokenSettings } from '../../config.js';
import type { Caller } from '../../domain/caller.js';
import { AppError } from '../../errors.js';

export interface TokenClaims {
  sub: string;
  scope: string[];
  accounts?: string[];
  /** Lifetime in seconds. @default 3600 */
  expiresInSeconds?: number;
  /** `aud`, for a gateway with AUTH_JWT_AUDIENCE. */
  audience?: string;
  /** `iss`, for a gateway with AUTH_JWT_ISSUER. */
  issuer?: string;
}

/** What a token must carry beyond a valid HS256 signature, `sub` and `exp`. Each rule applies only when set. */
export interface TokenRules {
  /** Required `aud` (AUTH_JWT_AUDIENCE). */
  readonly audience?: string | undefined;
  /** Required `iss` (AUTH_JWT_ISSUER). */
  readonly issuer?: string | undefined;
  /** Longest `exp - iat` in seconds (AUTH_MAX_TOKEN_LIFETIME); a token without `iat` is then refused. */
  readonly maxLifetimeSeconds?: number | undefined;
}

/** The rules of the configuration's AUTH_JWT_AUDIENCE, AUTH_JWT_ISSUER and AUTH_MAX_TOKEN_LIFETIME. */
export const tokenRulesOf = (settings: TokenSettings): TokenRules => ({
  audience: settings.AUTH_JWT_AUDIENCE,
  issuer: settings.AUTH_JWT_ISSUER,
  maxLifetimeSeconds: settings.AUTH_MAX_TOKEN_LIFETIME,
});

/** How far in the future a token's `iat` may be (clock skew between minter and gateway) when a lifetime is bounded. */
const IAT_SKEW_SECONDS = 60;

/**
 * The HMAC key of a secret, imported once. jose imports a Uint8Array key into WebCrypto on every call (4% of the
 * gateway's CPU under placeOrder load); a CryptoKey is only checked. A gateway has one secret; tests a few.
 */
const keys = new Map<string, Promise<webcrypto.CryptoKey>>();
function keyOf(secret: string): Promise<webcrypto.CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, key);
  }
  return key;
}

export async function mintAccessToken(secret: string, claims: TokenClaims): Promise<string> {
  const payload: Record<string, unknown> = { scope: claims.scope.join(' ') };
  if (claims.accounts) payload.accounts = claims.accounts;
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresInSeconds ?? 3600));
  if (claims.audience !== undefined) jwt.setAudience(claims.audience);
  if (claims.issuer !== undefined) jwt.setIssuer(claims.issuer);
  return jwt.sign(await keyOf(secret));
}

const unauthenticated = (why: string, cause?: unknown) => new AppError('UNAUTHENTICATED', why, { cause });

/**
 * Tokens already verified, per rules and secret: a client sends one token with every request, and its signature
 * and claims do not change. A hit is used only until the token's exp (then jose runs again and says it expired).
 * Keyed by the rules object, which a gateway builds once: a token passed under one set of rules is not taken under
 * another. Bounded; the oldest entry goes first.
 */
const VERIFIED_CAP = 10_000;
const NO_RULES: TokenRules = {};
const verified = new WeakMap<TokenRules, Map<string, Map<string, Caller>>>();

/** Verifies an HS256 token against `rules` and turns its claims into a Caller; anything wrong is UNAUTHENTICATED. */
export async function verifyAccessToken(secret: string, token: string, rules: TokenRules = NO_RULES): Promise<Caller> {
  let bySecret = verified.get(rules);
  let known = bySecret?.get(secret);
  const hit = known?.get(token);
  if (hit && hit.expiresAt.getTime() > Date.now()) return hit;
  const caller = await verifyWithJose(secret, token, rules);
  if (!bySecret) {
    bySecret = new Map();
    verified.set(rules, bySecret);
  }
  if (!known) {
    known = new Map();
    bySecret.set(secret, known);
  }
  if (known.size >= VERIFIED_CAP) known.delete(known.keys().next().value as string);
  known.set(token, caller);
  return caller;
}

/** Why a claim jose refused makes the token unusable here; the expected values are not told. */
const CLAIM_REFUSALS: Record<string, string> = {
  aud: 'the access token is not for this gateway (aud)',
  iss: 'the access token is not from an issuer this gateway accepts (iss)',
  iat: 'the access token lacks a valid iat (issued at), which this gateway needs to check its lifetime',
};

async function verifyWithJose(secret: string, token: string, rules: TokenRules): Promise<Caller> {
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
  const requiredClaims = ['sub', 'exp'];
  if (rules.maxLifetimeSeconds !== undefined) requiredClaims.push('iat');
  try {
    ({ payload } = await jwtVerify(token, await keyOf(secret), {
      algorithms: ['HS256'],
      requiredClaims,
      ...(rules.audience !== undefined && { audience: rules.audience }),
      ...(rules.issuer !== undefined && { issuer: rules.issuer }),
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw unauthenticated('the access token has expired', error);
    const refusal = error instanceof errors.JWTClaimValidationFailed ? CLAIM_REFUSALS[error.claim] : undefined;
    throw unauthenticated(refusal ?? 'the access token is invalid', error);
  }
  const { sub, exp, iat, scope, accounts } = payload;
  if (typeof sub !== 'string' || sub === '' || typeof exp !== 'number') throw unauthenticated('the access token lacks sub or exp');
  if (rules.maxLifetimeSeconds !== undefined) {
    // jose has checked that iat is a number. An iat in the future would stretch the window: exp - iat stays small
    // while exp is far away.
    const issuedAt = iat as number;
    if (issuedAt > Date.now() / 1000 + IAT_SKEW_SECONDS) throw unauthenticated('the access token is issued in the future (iat)');
    if (exp - issuedAt > rules.maxLifetimeSeconds) {
      throw unauthenticated(`the access token lives longer (exp - iat) than the ${rules.maxLifetimeSeconds} s this gateway accepts`);
    }
  }
  if (scope !== undefined && typeof scope !== 'string') throw unauthenticated('the access token scope must be a string');
  if (accounts !== undefined && !(Array.isArray(accounts) && accounts.every((a) => typeof a === 'string'))) {
    throw unauthenticated('the access token accounts claim must be a list of ids');
  }
  return {
    sub,
    scopes: new Set((scope ?? '').split(' ').filter(Boolean)),
    accounts: new Set(accounts ?? []),
    expiresAt: new Date(exp * 1000),
  };
}

/** Reads `Bearer <token>`; null when no header was sent (anonymous). */
export async function callerFromAuthorization(secret: string, header: unknown, rules: TokenRules = NO_RULES): Promise<Caller | null> {
  if (header === undefined || header === null || header === '') return null;
  if (typeof header !== 'string') throw unauthenticated('authorization must be a string "Bearer <token>"');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthenticated('authorization must be "Bearer <token>"');
  return verifyAccessToken(secret, match[1], rules);
}
