import type { Sql } from 'postgres';

/**
 * Seconds since the oldest unpublished outbox row was committed, by the database's clock (so the gateway's own
 * clock does not skew it); null when every row is published. One index read (outbox_pending), whatever the backlog.
 */
export async function oldestPendingAgeSeconds(sql: Sql): Promise<number | null> {
  const [row] = await sql<{ age: number }[]>`
    select extract(epoch from clock_timestamp() - created_at)::float8 as age
    from outbox where published_at is null order by id limit 1`;
  return row ? Math.max(0, row.age) : null;
}
