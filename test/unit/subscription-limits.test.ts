import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { SubscriptionLimits } from '../../src/transport/subscription-limits.js';

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
});
