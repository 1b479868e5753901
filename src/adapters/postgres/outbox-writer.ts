import type { Sql, TransactionSql } from 'postgres';

/** The channel the relay LISTENs on. */
export const OUTBOX_CHANNEL = 'outbox_pending';

export interface OutboxRecord {
  readonly eventId: string;
  readonly topic: string;
  readonly key: string;
  readonly value: Record<string, unknown>;
}

/** Adds a record to the outbox inside the caller's transaction. */
export async function writeToOutbox(tx: TransactionSql, record: OutboxRecord): Promise<void> {
  await tx`insert into outbox (event_id, topic, key, value)
    values (${record.eventId}, ${record.topic}, ${record.key}, ${JSON.stringify(record.value)}::jsonb)`;
}

/**
 * Wakes the relay (in any gateway process) after outbox writes committed.
 * NOTIFY inside each order's transaction would serialize every commit behind
 * PostgreSQL's notify queue lock; one NOTIFY per short window, sent after the
 * commits, costs the orders nothing. A lost signal only delays publishing
 * until the relay's safety-net poll.
 */
export function createOutboxSignal(sql: Sql, windowMs = 2): OutboxSignal {
  let pending: NodeJS.Timeout | null = null;
  let inFlight: Promise<unknown> = Promise.resolve();
  let closed = false;
  return {
    committed() {
      if (pending || closed) return;
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

export interface OutboxSignal {
  /** Call after a transaction that wrote to the outbox committed. */
  committed(): void;
  /** Stops signalling; call before closing the connection pool. */
  close(): Promise<void>;
}
