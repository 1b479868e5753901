import type { Sql } from 'postgres';
import type { OutboxLease, OutboxStore, PendingRecord } from '../../ports/outbox.js';
import { openDatabase } from './database.js';
import { OUTBOX_CHANNEL } from './outbox-writer.js';
import { isDatabaseUnavailable } from './pg-errors.js';

/** Any constant no other tool uses: the session advisory lock that makes one relay active. */
const RELAY_LOCK = 724_110_002;

interface PendingRow {
  held: boolean;
  id: bigint | null;
  event_id: string | null;
  topic: string | null;
  key: string | null;
  value: string | null;
}

export class LeaseLostError extends Error {
  constructor(cause?: unknown) {
    super('the outbox relay lease was lost: its database session ended', { cause });
    this.name = 'LeaseLostError';
  }
}

/**
 * The outbox on PostgreSQL: a session advisory lock for the lease, LISTEN/NOTIFY for wake-ups.
 * The lock lives on a connection of the lease's own, never one borrowed from the pool: a pooled
 * connection that dropped is silently replaced, and the relay would go on without the lock.
 */
export function createOutboxStore(databaseUrl: string, notifications: Sql): OutboxStore {
  return {
    async tryLease(): Promise<OutboxLease | null> {
      // One connection, kept for good (postgres.js otherwise recycles it after 30-60 minutes, and the lock with it).
      const { sql: session, close } = openDatabase(databaseUrl, {
        max: 1,
        maxLifetime: null,
        applicationName: 'graphql-kafka-gateway relay',
      });
      let pid: number;
      try {
        const [row] = await session<{ locked: boolean; pid: number }[]>`
          select pg_try_advisory_lock(${RELAY_LOCK}) as locked, pg_backend_pid() as pid`;
        if (!row?.locked) {
          await close();
          return null;
        }
        pid = row.pid;
      } catch (error) {
        await close().catch(() => {});
        throw error;
      }
      return {
        async pending(limit: number): Promise<PendingRecord[]> {
          // value as text: the record goes to Kafka as it is, without a JSON.parse and JSON.stringify per row.
          // If the session dropped, postgres.js reconnects to a new backend without the lock: read only on the
          // backend that took it (the lock lives exactly as long as that backend's session).
          // A connection failure says the same as a foreign backend: the session that held the lock is over.
          // execute(): sent in call order, as markPublished explains.
          const rows = await session<PendingRow[]>`
            select lease.held, o.id, o.event_id, o.topic, o.key, o.value::text as value
            from (select pg_backend_pid() = ${pid} as held) as lease
            left join lateral (
              select id, event_id, topic, key, value from outbox
              where published_at is null order by id limit ${limit}
            ) as o on lease.held`
            .execute()
            .catch((error: unknown) => {
              throw isDatabaseUnavailable(error) ? new LeaseLostError(error) : error;
            });
          if (!rows[0]?.held) throw new LeaseLostError();
          return rows.flatMap((r) =>
            r.id === null
              ? []
              : [{ id: r.id, eventId: String(r.event_id), topic: String(r.topic), key: String(r.key), value: String(r.value) }],
          );
        },
        async markPublished(ids: readonly bigint[], acknowledgedMsAgo = 0): Promise<void> {
          // Not fenced: these records are on Kafka, whoever holds the lease now. The ids go as an array literal
          // (bigints only), since the pool does not fetch array types (database.ts). The relay may mark a few ms
          // after the ack (its linger): published_at is the ack's moment, on the database's clock like created_at.
          // execute() sends it now rather than when awaited (postgres.js starts a query on its first then): the relay
          // sends a mark and then the next read without waiting, and the read must see these rows published.
          await session`
            update outbox set published_at = now() - ${String(Math.max(0, acknowledgedMsAgo))}::float8 * interval '1 millisecond'
            where id = any(${`{${ids.join(',')}}`}::bigint[])`.execute();
        },
        async countPending(): Promise<number> {
          const [row] = await session<{ n: bigint }[]>`select count(*) as n from outbox where published_at is null`;
          return Number(row?.n ?? 0);
        },
        async release(): Promise<void> {
          // Ending the session releases its locks.
          await close().catch(() => {});
        },
      };
    },

    async onCommit(wake: () => void) {
      const listener = await notifications.listen(OUTBOX_CHANNEL, wake);
      return { stop: () => listener.unlisten() };
    },
  };
}
