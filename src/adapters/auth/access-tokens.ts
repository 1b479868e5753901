import { webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { Caller } from '../../domain/caller.js';
import { AppError } from '../../errors.js';

export interface TokenClaims {
  sub: string;
  scope: string[];
  accounts?: string[];
  /** Lifetime in seconds. @default 3600 */
  expiresInSeconds?: number;
}

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
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (claims.expiresInSeconds ?? 3600))
    .sign(await keyOf(secret));
}

const unauthenticated = (why: string, cause?: unknown) => new AppError('UNAUTHENTICATED', why, { cause });

/**
 * Tokens already verified, per secret: a client sends one token with every request, and its signature and
 * claims do not change. A hit is used only until the token's exp (then jose runs again and says it expired).
 * Bounded; the oldest entry goes first.
 */
const VERIFIED_CAP = 10_000;
const verified = new Map<string, Map<string, Caller>>();

/** Verifies an HS256 token and turns its claims into a Caller; anything wrong is UNAUTHENTICATED. */
export async function verifyAccessToken(secret: string, token: string): Promise<Caller> {
  let known = verified.get(secret);
  const hit = known?.get(token);
  if (hit && hit.expiresAt.getTime() > Date.now()) return hit;
  const caller = await verifyWithJose(secret, token);
  if (!known) {
    known = new Map();
    verified.set(secret, known);
  }
  if (known.size >= VERIFIED_CAP) known.delete(known.keys().next().value as string);
  known.set(token, caller);
  return caller;
}

async function verifyWithJose(secret: string, token: string): Promise<Caller> {
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
  try {
    ({ payload } = await jwtVerify(token, await keyOf(secret), { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] }));
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw unauthenticated('the access token has expired', error);
    throw unauthenticated('the access token is invalid', error);
  }
  const { sub, exp, scope, accounts } = payload;
  if (typeof sub !== 'string' || sub === '' || typeof exp !== 'number') throw unauthenticated('the access token lacks sub or exp');
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
export async function callerFromAuthorization(secret: string, header: unknown): Promise<Caller | null> {
  if (header === undefined || header === null || header === '') return null;
  if (typeof header !== 'string') throw unauthenticated('authorization must be a string "Bearer <token>"');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthenticated('authorization must be "Bearer <token>"');
  return verifyAccessToken(secret, match[1]);
}
