import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4's request queue re-arms a timer for itself each time it checks its pending requests, even with none
 * pending and no throttle: with `throttledUntil` at -1 the delay is negative, so every connection that ever answered
 * a request runs a 1 ms timer loop for the rest of its life (tulios/kafkajs#1556, #1704; the fix of #1768's review
 * is not released). Measured on this machine: an idle producer and admin took 187 ms of CPU in 3 s, 8 ms with this.
 *
 * Replaced here with the same method minus the loop: a check is scheduled only while requests wait (after the
 * throttle, or CHECK_PENDING_REQUESTS_INTERVAL) or while a throttle is still to end. A response already checks the
 * queue (fulfillRequest), and a pushed request that cannot go at once schedules its own check.
 */

const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;

interface RequestQueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  pending: unknown[];
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

const require = createRequire(import.meta.url);
const { prototype } = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueueInternals };

export const requestQueuePatched = typeof prototype.scheduleCheckPendingRequests === 'function';

if (requestQueuePatched) {
  prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    if (this.pending.length === 0 && untilUnthrottled <= 0) return;
    const delay = untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, delay);
  };
}
