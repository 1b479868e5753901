import { AppError } from '../errors.js';

/** Callers remembered before the ones with a full allowance are dropped: a full allowance holds nothing a new one would not. */
const MAX_TRACKED_CALLERS = 100_000;

interface Allowance {
  /** New subscriptions the caller may start now (fractional while it refills). */
  readonly left: number;
  readonly at: number;
}

/**
 * The allowance after `elapsedMs`: `perMinute` a minute, refilled continuously, never more than `perMinute` at once.
 * A caller may start `perMinute` subscriptions at once (a client reconnecting all it had), then one every
 * 60/`perMinute` s.
 */
export const refilled = (allowance: Allowance, at: number, perMinute: number): number =>
  Math.min(perMinute, allowance.left + (Math.max(0, at - allowance.at) / 60_000) * perMinute);

/** Whole seconds until one more subscription is allowed, at least 1. */
export const secondsUntilOne = (left: number, perMinute: number): number =>
  // Less a hair: the allowance is a float, and 0.95 of one at 3 a minute is 1 s away, not 1.0000000001.
  Math.max(1, Math.ceil(((1 - left) * 60) / perMinute - 1e-9));

/**
 * New subscriptions per caller (token `sub`) per minute, in this process, over every transport: each new subscription
 * of an ephemeral kind creates and later deletes a consumer group, so a subscribe/complete loop costs Kafka a group
 * per turn. Open subscriptions are bounded elsewhere (SubscriptionLimits); this bounds their turnover.
 */
export class SubscriptionChurn {
  readonly #perMinute: number;
  readonly #now: () => number;
  readonly #allowances = new Map<string, Allowance>();

  /** @param perMinute new subscriptions one caller may start per minute; 0 for no limit. */
  constructor(perMinute: number, now: () => number = Date.now) {
    this.#perMinute = perMinute;
    this.#now = now;
  }

  /** Counts one new subscription of `sub`. @throws AppError RATE_LIMITED (details.retryAfterSeconds) when it has none left. */
  take(sub: string): void {
    const perMinute = this.#perMinute;
    if (perMinute === 0) return;
    const at = this.#now();
    const known = this.#allowances.get(sub);
    const left = known ? refilled(known, at, perMinute) : perMinute;
    if (left < 1) {
      const retryAfterSeconds = secondsUntilOne(left, perMinute);
      throw new AppError(
        'RATE_LIMITED',
        `you started ${perMinute} subscriptions within the last minute, the most one caller may: retry in ${retryAfterSeconds} s`,
        { details: { retryAfterSeconds } },
      );
    }
    if (!known && this.#allowances.size >= MAX_TRACKED_CALLERS) this.#forgetFull(at);
    this.#allowances.set(sub, { left: left - 1, at });
  }

  #forgetFull(at: number): void {
    for (const [sub, allowance] of this.#allowances)
      if (refilled(allowance, at, this.#perMinute) >= this.#perMinute) this.#allowances.delete(sub);
  }
}
