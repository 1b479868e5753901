import { describe, expect, it } from 'vitest';
import { SubscriptionChurn } from '../../src/domain/subscription-churn.js';
import { appErrorOf } from '../support/app-errors.js';

describe('SubscriptionChurn', () => {
  it('should allow a minute of subscriptions at once, then refuse the next with RATE_LIMITED and when to retry', () => {
    let now = 0;
    const churn = new SubscriptionChurn(3, () => now);
    for (let i = 0; i < 3; i++) churn.take('alice');
    const refused = appErrorOf(() => churn.take('alice'));
    expect(refused?.code).toBe('RATE_LIMITED');
    // One of three per minute comes back every 20 s.
    expect(refused?.details).toEqual({ retryAfterSeconds: 20 });
    now = 19_000;
    expect(appErrorOf(() => churn.take('alice'))?.details).toEqual({ retryAfterSeconds: 1 });
    now = 20_000;
    expect(appErrorOf(() => churn.take('alice'))).toBeUndefined();
    expect(appErrorOf(() => churn.take('alice'))?.code).toBe('RATE_LIMITED');
  });

  it('should count each caller on its own, refill no more than a minute, and limit nothing at 0', () => {
    let now = 0;
    const churn = new SubscriptionChurn(2, () => now);
    churn.take('alice');
    churn.take('alice');
    expect(appErrorOf(() => churn.take('bob'))).toBeUndefined();
    now = 10 * 60_000;
    churn.take('alice');
    churn.take('alice');
    expect(appErrorOf(() => churn.take('alice'))?.code).toBe('RATE_LIMITED');
    const off = new SubscriptionChurn(0, () => now);
    for (let i = 0; i < 1000; i++) off.take('alice');
  });
});
