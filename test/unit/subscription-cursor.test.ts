import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/domain/subscription-cursor.js';
import { AppError } from '../../src/errors.js';

const secret = 'cursor-test-secret';
const scope = { sub: 'recon', topic: 'orders.settled' };
const positions = new Map([
  [2, 17n],
  [0, 5n],
  [1, 9_223_372_036_854_775_807n],
]);

function badUserInput(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('BAD_USER_INPUT');
    return error as AppError;
  }
  throw new Error('expected BAD_USER_INPUT, nothing was thrown');
}

describe('subscription cursor', () => {
  it('should round-trip every partition position', () => {
    const token = encodeCursor(secret, scope, positions);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(decodeCursor(secret, token, scope)).toEqual(positions);
  });

  it('should encode the same positions to the same token whatever their order', () => {
    const reversed = new Map([...positions].reverse());
    expect(encodeCursor(secret, scope, reversed)).toBe(encodeCursor(secret, scope, positions));
  });

  it('should refuse a token whose payload was changed', () => {
    const [payload, mac] = encodeCursor(secret, scope, positions).split('.');
    const body = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString());
    body.o[0][1] = '0';
    const forged = `${Buffer.from(JSON.stringify(body)).toString('base64url')}.${mac}`;
    badUserInput(() => decodeCursor(secret, forged, scope));
  });

  it('should refuse a token whose signature was changed or made with another secret', () => {
    const token = encodeCursor(secret, scope, positions);
    const [payload, mac = ''] = token.split('.');
    const flipped = `${payload}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`;
    badUserInput(() => decodeCursor(secret, flipped, scope));
    badUserInput(() => decodeCursor('another-secret', token, scope));
  });

  it("should refuse another caller's cursor", () => {
    const token = encodeCursor(secret, { ...scope, sub: 'mallory' }, positions);
    expect(badUserInput(() => decodeCursor(secret, token, scope)).message).toMatch(/another subscriber/);
  });

  it("should refuse another topic's cursor", () => {
    const token = encodeCursor(secret, { ...scope, topic: 'orders.other' }, positions);
    expect(badUserInput(() => decodeCursor(secret, token, scope)).message).toMatch(/another topic/);
  });

  it.each(['', 'garbage', 'a.b.c', '.', 'x'.repeat(20_000), `${Buffer.from('not json').toString('base64url')}.AAAA`])(
    'should refuse the undecodable token %#',
    (token) => {
      badUserInput(() => decodeCursor(secret, token, scope));
    },
  );

  it('should refuse a correctly signed payload of the wrong shape', () => {
    // A signed but malformed payload can only come from a bug; it must still be refused, not crash.
    const token = encodeCursor(secret, scope, new Map([[-1, 3n]]));
    badUserInput(() => decodeCursor(secret, token, scope));
  });
});
