import { AppError } from '../errors.js';

export interface RateLimits {
  /** Operations a caller may run per second, sustained; 0 turns limiting off. */
  readonly perSecond: number;
  /** Operations a caller may run at once after being idle. */
  readonly burst: number;
}

export interface RateLimiter {
  /** Counts one operation for `key`; throws RATE_LIMITED (with retryAfterSeconds) when it has none left. */
  admit(key: string): void;
}

/** Buckets kept before idle ones are dropped: a full bucket holds nothing a new one would not. */
const MAX_TRACKED_KEYS = 100_000;

/**
 * A token bucket per caller, in this process: with several gateways each allows
 * the full rate, so set the limit per gateway process.
 */
export function createRateLimiter(limits: RateLimits, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refill = (bucket: { tokens: number; at: number }, at: number) =>
    Math.min(limits.burst, bucket.tokens + ((at - bucket.at) / 1000) * limits.perSecond);

  const forgetIdle = (at: number) => {
    for (const [key, bucket] of buckets) if (refill(bucket, at) >= limits.burst) buckets.delete(key);
  };

  return {
    admit(key) {
      if (limits.perSecond === 0) return;
      const at = now();
      const bucket = buckets.get(key);
      const tokens = bucket ? refill(bucket, at) : limits.burst;
      if (tokens < 1) {
        const retryAfterSeconds = Math.max(1, Math.ceil((1 - tokens) / limits.perSecond));
        throw new AppError('RATE_LIMITED', `too many requests from this caller: retry in ${retryAfterSeconds} s`, {
          details: { retryAfterSeconds },
        });
      }
      if (!bucket && buckets.size >= MAX_TRACKED_KEYS) forgetIdle(at);
      buckets.set(key, { tokens: tokens - 1, at });
    },
  };
}
