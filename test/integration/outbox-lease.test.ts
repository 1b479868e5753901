import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/adapters/postgres/migrate.js';
import { createOutboxStore, LeaseLostError } from '../../src/adapters/postgres/outbox-store.js';
import type { OutboxLease } from '../../src/ports/outbox.js';
import { cleanupList } from '../support/cleanup.js';
import { createTestDatabase, waitFor } from '../support/resources.js';

const cleanups = cleanupList();
let url: string;
let sql: postgres.Sql;

beforeAll(async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  url = db.url;
  await applyMigrations(url);
  sql = postgres(url, { max: 2, onnotice: () => {} });
  cleanups.push(() => sql.end());
});

afterAll(() => cleanups.run());

const relaySessions = () =>
  sql<
    { pid: number }[]
  >`select pid from pg_stat_activity where datname = current_database() and application_name = 'graphql-kafka-gateway relay'`;

async function insertOutboxRecord(key: string): Promise<void> {
  await sql`insert into outbox (event_id, topic, key, value) values (gen_random_uuid(), 'orders', ${key}, ${sql.json({ key })})`;
}

describe('the outbox relay lease on PostgreSQL', () => {
  it('should give the lease to one store at a time, and to the next once released', async () => {
    const first = createOutboxStore(url, sql);
    const second = createOutboxStore(url, sql);
    const lease = await first.tryLease();
    cleanups.push(async () => lease?.release());
    expect(lease).not.toBeNull();
    expect(await second.tryLease()).toBeNull();
    await lease?.release();
    const next = await second.tryLease();
    cleanups.push(async () => next?.release());
    expect(next).not.toBeNull();
    await next?.release();
  });

  it('should not read records again that a mark sent just before the read published', async () => {
    await insertOutboxRecord('acc-mark-1');
    await insertOutboxRecord('acc-mark-2');
    const lease = (await createOutboxStore(url, sql).tryLease()) as OutboxLease;
    cleanups.push(() => lease.release());
    const first = await lease.pending(10);
    expect(first.map((r) => r.key)).toEqual(['acc-mark-1', 'acc-mark-2']);
    // As the relay does: the mark and the next read go out together, the read not waiting for the mark.
    const marking = lease.markPublished(first.map((r) => r.id));
    const next = await lease.pending(10);
    await marking;
    expect(next).toEqual([]);
    await lease.release();
  });

  it('should refuse to read pending records once its session is gone, while another store takes the lease', async () => {
    await insertOutboxRecord('acc-1');
    const holder = createOutboxStore(url, sql);
    const lease = (await holder.tryLease()) as OutboxLease;
    cleanups.push(() => lease.release());
    expect(lease).not.toBeNull();
    expect((await lease.pending(10)).map((r) => r.key)).toContain('acc-1');

    // Advisory locks are per database, but pg_locks lists every database's: other test files hold this key too.
    const [holderSession] = await sql<{ pid: number }[]>`
      select pid from pg_locks
      where locktype = 'advisory' and objid = 724110002 and granted
        and database = (select oid from pg_database where datname = current_database())`;
    await sql`select pg_terminate_backend(${holderSession!.pid})`;
    const successor = createOutboxStore(url, sql);
    const taken = await waitFor('the lock to be free for another store', () => successor.tryLease().then((l) => l ?? undefined));
    cleanups.push(() => taken.release());

    // The old lease's connection reconnects on its next query, but that new session holds no lock.
    await expect(lease.pending(10)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(lease.pending(10)).rejects.toBeInstanceOf(LeaseLostError);
    expect((await taken.pending(10)).map((r) => r.key)).toContain('acc-1');
    await lease.release();
    await taken.release();
    await waitFor('every relay session to end', async () => ((await relaySessions()).length === 0 ? true : undefined));
  });
});
