import { AppError } from '../../errors.js';
import type { Ledger } from '../../ports/ledger.js';
import { isDatabaseUnavailable } from './pg-errors.js';

const RETRY_AFTER_SECONDS = 1;

const unavailable = (cause: unknown) =>
  new AppError(
    'SERVICE_UNAVAILABLE',
    'the database is unavailable: retry shortly with the same input (the same idempotencyKey replays a request that did take effect)',
    { cause, details: { retryAfterSeconds: RETRY_AFTER_SECONDS } },
  );

/** Pauses before the gateway's own retries: a pooled connection the server ended fails once, its successor works. */
const RETRY_PAUSES_MS = [20, 200];

const guarded =
  <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
  async (...args: A): Promise<R> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call(...args);
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        const pauseMs = RETRY_PAUSES_MS[attempt];
        if (pauseMs === undefined) throw unavailable(error);
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
  };

/**
 * The ledger with a lost or unreachable database retried twice, then answered as SERVICE_UNAVAILABLE, which a
 * client may retry, instead of an internal error. A statement whose connection dropped at its commit may have
 * taken effect; every write is idempotent on its key (or id), so a retry, ours or the client's, is safe either way.
 */
export function withOutagesAsRetryable(ledger: Ledger): Ledger {
  return {
    openAccount: guarded(ledger.openAccount),
    deposit: guarded(ledger.deposit),
    placeOrder: guarded(ledger.placeOrder),
    findAccount: guarded(ledger.findAccount),
    findOrder: guarded(ledger.findOrder),
    listOrders: guarded(ledger.listOrders),
  };
}
