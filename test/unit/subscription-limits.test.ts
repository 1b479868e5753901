import { describe, expect, it } from 'vitest';
import { SubscriptionChurn } from '../../src/domain/subscription-churn.js';
import { AppError } from '../../src/errors.js';
import { SubscriptionLimits } from '../../src/operations/subscription-limits.js';

const refusedCode = (run: () => void) => {
  try {
    run();
  } catch (error) {
    return error instanceof AppError ? error.code : 'not an AppError';
  }
  return undefined;
};

describe('SubscriptionLimits', () => {
  it('should refuse the subscription over the per-socket limit, and admit one again after a release', () => {
    const limits = new SubscriptionLimits<object>({ perSocket: 2, perCaller: 0 });
    const socket = {};
    limits.admit(socket, 'alice', '1');
    limits.admit(socket, 'alice', '2');
    expect(refusedCode(() => limits.admit(socket, 'alice', '3'))).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(refusedCode(() => limits.admit({}, 'alice', '3'))).toBeUndefined();
    limits.release(socket, '1');
    expect(refusedCode(() => limits.admit(socket, 'alice', '4'))).toBeUndefined();
  });

  it('should count a caller across sockets, free all of a closed socket at once, and ignore unknown releases', () => {
    const limits = new SubscriptionLimits<object>({ perSocket: 0, perCaller: 3 });
    const [a, b] = [{}, {}];
    limits.admit(a, 'bob', '1');
    limits.admit(a, 'bob', '2');
    limits.admit(b, 'bob', '1');
    expect(refusedCode(() => limits.admit(b, 'bob', '2'))).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(refusedCode(() => limits.admit(b, 'carol', '2'))).toBeUndefined();
    limits.release(b, 'unknown');
    limits.releaseAll(a);
    expect(limits.openFor('bob')).toBe(1);
    limits.release(a, '1');
    expect(limits.openFor('bob')).toBe(1);
  });

  it("should refuse a caller's new subscriptions past its minute's allowance with RATE_LIMITED, shared by every transport's limits", () => {
    const now = 0;
    const churn = new SubscriptionChurn(2, () => now);
    const [websocket, other] = [
      new SubscriptionLimits<object>({ perSocket: 1, perCaller: 0, churn }),
      new SubscriptionLimits<object>({ perSocket: 0, perCaller: 0, churn }),
    ];
    const socket = {};
    websocket.admit(socket, 'alice', '1');
    // Refused for the socket's limit: uses none of the allowance.
    expect(refusedCode(() => websocket.admit(socket, 'alice', '2'))).toBe('TOO_MANY_SUBSCRIPTIONS');
    websocket.release(socket, '1');
    websocket.admit(socket, 'alice', '2');
    websocket.release(socket, '2');
    expect(refusedCode(() => other.admit({}, 'alice', '3'))).toBe('RATE_LIMITED');
    expect(refusedCode(() => websocket.admit(socket, 'alice', '3'))).toBe('RATE_LIMITED');
    // A refused subscription is not counted as open.
    expect(websocket.openFor('alice')).toBe(0);
    expect(refusedCode(() => other.admit({}, 'bob', '1'))).toBeUndefined();
  });
});
