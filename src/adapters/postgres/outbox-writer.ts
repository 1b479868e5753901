import type { Sql } from 'postgres';

/** The channel the relay LISTENs on. */
export const OUTBOX_CHANNEL = 'outbox_pending';

/**
 * Wakes the relay (in any gateway process) after outbox writes committed.
 * NOTIFY inside each order's transaction would serialize every commit behind
 * PostgreSQL's notify queue lock; one NOTIFY per short window, sent after the
 * commits, costs the orders nothing. A lost signal only delays publishing
 * until the relay's safety-net poll.
 *
 * When the active relay runs in this process, `wakeLocal` hands it the signal directly and no NOTIFY is sent:
 * under load that was a query (and a commit on the notify queue) every window, for a relay that was busy anyway.
 */
export function createOutboxSignal(sql: Sql, options: OutboxSignalOptions = {}): OutboxSignal {
  const windowMs = options.windowMs ?? 2;
  const wakeLocal = options.wakeLocal ?? (() => false);
  let pending: NodeJS.Timeout | null = null;
  let inFlight: Promise<unknown> = Promise.resolve();
  let closed = false;
  return {
    committed() {
      if (pending || closed) return;
      if (wakeLocal()) return;
      pending = setTimeout(() => {
        pending = null;
        inFlight = sql`select pg_notify(${OUTBOX_CHANNEL}, '')`.catch(() => {});
      }, windowMs);
    },
    async close() {
      closed = true;
      if (pending) clearTimeout(pending);
      pending = null;
      await inFlight;
    },
  };
}

export interface OutboxSignalOptions {
  /** One NOTIFY at most per window. @default 2 */
  windowMs?: number;
  /** Wakes a relay of this process if it holds the lease; true when it did (then no NOTIFY is needed). */
  wakeLocal?: () => boolean;
}

export interface OutboxSignal {
  /** Call after a transaction that wrote to the outbox committed. */
  committed(): void;
  /** Stops signalling; call before closing the connection pool. */
  close(): Promise<void>;
}
