import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { callerFromAuthorization, type TokenRules, verifyAccessToken } from '../../src/adapters/auth/access-tokens.js';
import { isAppError } from '../../src/errors.js';

const secret = 'unit-test-secret-long-enough-for-hs256-0123456789';
const key = new TextEncoder().encode(secret);
const now = () => Math.floor(Date.now() / 1000);

interface Claims {
  aud?: string | string[];
  iss?: string;
  /** Seconds from now; null leaves iat out. @default 0 */
  iat?: number | null;
  /** Seconds from now. @default 3600 */
  exp?: number;
}

/** A real HS256 token signed by jose with exactly the claims given (mintAccessToken always sets iat). */
async function signed({ aud, iss, iat = 0, exp = 3600 }: Claims = {}): Promise<string> {
  const jwt = new SignJWT({ scope: 'orders:read:all' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setExpirationTime(now() + exp);
  if (iat !== null) jwt.setIssuedAt(now() + iat);
  if (aud !== undefined) jwt.setAudience(aud);
  if (iss !== undefined) jwt.setIssuer(iss);
  return jwt.sign(key);
}

/** The outcome of verifying: the caller's sub, or the error code and message. */
async function outcome(token: string, rules: TokenRules): Promise<{ sub: string } | { code: string; message: string }> {
  try {
    return { sub: (await verifyAccessToken(secret, token, rules)).sub };
  } catch (error) {
    if (isAppError(error)) return { code: error.code, message: error.message };
    throw error;
  }
}

const accepted = { sub: 'alice' };
const refused = (message: RegExp) => ({ code: 'UNAUTHENTICATED', message: expect.stringMatching(message) });

describe('access token rules', () => {
  describe('AUTH_JWT_AUDIENCE', () => {
    const rules: TokenRules = { audience: 'orders-gateway' };

    it('should accept a token for the audience, alone or among others', async () => {
      expect(await outcome(await signed({ aud: 'orders-gateway' }), rules)).toEqual(accepted);
      expect(await outcome(await signed({ aud: ['billing', 'orders-gateway'] }), rules)).toEqual(accepted);
    });

    it('should refuse a token without aud or for another audience as UNAUTHENTICATED', async () => {
      expect(await outcome(await signed(), rules)).toEqual(refused(/\(aud\)/));
      expect(await outcome(await signed({ aud: 'billing' }), rules)).toEqual(refused(/\(aud\)/));
    });
  });

  describe('AUTH_JWT_ISSUER', () => {
    const rules: TokenRules = { issuer: 'https://id.example' };

    it('should accept a token from the issuer', async () => {
      expect(await outcome(await signed({ iss: 'https://id.example' }), rules)).toEqual(accepted);
    });

    it('should refuse a token without iss or from another issuer as UNAUTHENTICATED', async () => {
      expect(await outcome(await signed(), rules)).toEqual(refused(/\(iss\)/));
      expect(await outcome(await signed({ iss: 'https://evil.example' }), rules)).toEqual(refused(/\(iss\)/));
    });
  });

  describe('AUTH_MAX_TOKEN_LIFETIME', () => {
    const rules: TokenRules = { maxLifetimeSeconds: 3600 };

    it('should accept a token that lives exactly the maximum', async () => {
      expect(await outcome(await signed({ iat: 0, exp: 3600 }), rules)).toEqual(accepted);
      // Issued a while ago: what counts is exp - iat, not the time left.
      expect(await outcome(await signed({ iat: -1800, exp: 1800 }), rules)).toEqual(accepted);
    });

    it('should refuse a token whose exp - iat is longer, even by a second, as UNAUTHENTICATED', async () => {
      expect(await outcome(await signed({ iat: 0, exp: 3601 }), rules)).toEqual(refused(/lives longer .* 3600 s/));
      // Almost expired, but minted to live a day.
      expect(await outcome(await signed({ iat: -86_300, exp: 100 }), rules)).toEqual(refused(/lives longer/));
    });

    it('should refuse a token without iat as UNAUTHENTICATED', async () => {
      expect(await outcome(await signed({ iat: null, exp: 60 }), rules)).toEqual(refused(/iat/));
    });

    it('should refuse a token issued in the future, which would stretch its window', async () => {
      expect(await outcome(await signed({ iat: 86_400, exp: 86_400 + 3600 }), rules)).toEqual(refused(/future/));
    });

    it('should accept long tokens and tokens without iat when no maximum is set', async () => {
      expect(await outcome(await signed({ iat: null, exp: 365 * 86_400 }), {})).toEqual(accepted);
    });
  });

  it('should not let a token verified under looser rules pass stricter ones from the cache', async () => {
    const token = await signed({ aud: 'billing' });
    expect(await outcome(token, {})).toEqual(accepted);
    expect(await outcome(token, { audience: 'orders-gateway' })).toEqual(refused(/\(aud\)/));
  });

  it('should apply the rules to an Authorization header, as HTTP and connection_init do', async () => {
    const rules: TokenRules = { audience: 'orders-gateway', issuer: 'https://id.example', maxLifetimeSeconds: 600 };
    const good = await signed({ aud: 'orders-gateway', iss: 'https://id.example', exp: 600 });
    expect((await callerFromAuthorization(secret, `Bearer ${good}`, rules))?.sub).toBe('alice');
    const tooLong = await signed({ aud: 'orders-gateway', iss: 'https://id.example', exp: 601 });
    await expect(callerFromAuthorization(secret, `Bearer ${tooLong}`, rules)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });
});
