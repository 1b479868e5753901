import { describe, expect, it } from 'vitest';
import { createRateLimiter } from '../../src/transport/rate-limiter.js';
import { appErrorOf } from '../support/app-errors.js';

const refusal = appErrorOf;

describe('the per-caller rate limiter', () => {
  it('should allow a burst, then one operation per 1/rate seconds, telling when to retry', () => {
    let clock = 0;
    const limiter = createRateLimiter({ perSecond: 2, burst: 3 }, () => clock);
    for (let i = 0; i < 3; i++) expect(refusal(() => limiter.admit('alice'))).toBeUndefined();
    const refused = refusal(() => limiter.admit('alice'));
    expect(refused?.code).toBe('RATE_LIMITED');
    expect(refused?.details).toEqual({ retryAfterSeconds: 1 });
    clock += 500;
    expect(refusal(() => limiter.admit('alice'))).toBeUndefined();
    expect(refusal(() => limiter.admit('alice'))?.code).toBe('RATE_LIMITED');
  });

  it('should keep callers apart and never refuse when the rate is 0', () => {
    const limiter = createRateLimiter({ perSecond: 1, burst: 1 }, () => 0);
    limiter.admit('alice');
    expect(refusal(() => limiter.admit('alice'))?.code).toBe('RATE_LIMITED');
    expect(refusal(() => limiter.admit('bob'))).toBeUndefined();
    const off = createRateLimiter({ perSecond: 0, burst: 1 }, () => 0);
    for (let i = 0; i < 10; i++) expect(refusal(() => off.admit('alice'))).toBeUndefined();
  });

  it('should say to wait longer when the rate is slow', () => {
    const limiter = createRateLimiter({ perSecond: 0.1, burst: 1 }, () => 0);
    limiter.admit('alice');
    expect(refusal(() => limiter.admit('alice'))?.details).toEqual({ retryAfterSeconds: 10 });
  });
});
