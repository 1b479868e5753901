import type { Sql } from 'postgres';
import type { OutboxLease, OutboxStore, PendingRecord } from '../../ports/outbox.js';
import { OUTBOX_CHANNEL } from './outbox-writer.js';

/** Any constant no other tool uses: the session advisory lock that makes one relay active. */
const RELAY_LOCK = 724_110_002;

interface OutboxRow {
  id: bigint;
  event_id: string;
  topic: string;
  key: string;
  value: unknown;
}

/** The outbox on PostgreSQL: a session advisory lock for the lease, LISTEN/NOTIFY for wake-ups. */
export function createOutboxStore(sql: Sql): OutboxStore {
  return {
    async tryLease(): Promise<OutboxLease | null> {
      const connection = await sql.reserve();
      try {
        const [row] = await connection<{ locked: boolean }[]>`select pg_try_advisory_lock(${RELAY_LOCK}) as locked`;
        if (!row?.locked) {
          connection.release();
          return null;
        }
      } catch (error) {
        connection.release();
        throw error;
      }
      return {
        async pending(limit: number): Promise<PendingRecord[]> {
          const rows = await connection<OutboxRow[]>`
            select id, event_id, topic, key, value from outbox
            where published_at is null order by id limit ${limit}`;
          return rows.map((r) => ({ id: r.id, eventId: r.event_id, topic: r.topic, key: r.key, value: JSON.stringify(r.value) }));
        },
        async markPublished(ids: readonly bigint[]): Promise<void> {
          await connection`update outbox set published_at = now() where id = any(${ids.map(String)}::bigint[])`;
        },
        async countPending(): Promise<number> {
          const [row] = await connection<{ n: bigint }[]>`select count(*) as n from outbox where published_at is null`;
          return Number(row?.n ?? 0);
        },
        async release(): Promise<void> {
          await connection`select pg_advisory_unlock(${RELAY_LOCK})`.catch(() => {});
          connection.release();
        },
      };
    },

    async onCommit(wake: () => void) {
      const listener = await sql.listen(OUTBOX_CHANNEL, wake);
      return { stop: () => listener.unlisten() };
    },
  };
}
