import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { applyMigrations } from '../../src/adapters/postgres/migrate.js';
import { cleanupList } from '../support/cleanup.js';
import { createTestDatabase } from '../support/resources.js';

const cleanups = cleanupList();
afterAll(() => cleanups.run());

const tablesOf = async (url: string) => {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    const [applied] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
    return { tables: rows.map((r) => r.table_name), applied: applied?.n };
  } finally {
    await sql.end();
  }
};

describe('database migrations', () => {
  it('should create every table on an empty database and change nothing when applied again', async () => {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    await applyMigrations(db.url);
    const first = await tablesOf(db.url);
    expect(first.tables).toEqual(['accounts', 'deposits', 'orders', 'outbox']);
    await applyMigrations(db.url);
    expect(await tablesOf(db.url)).toEqual(first);
  });

  it('should apply once when several gateways start at the same moment', async () => {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    await Promise.all([applyMigrations(db.url), applyMigrations(db.url), applyMigrations(db.url)]);
    const result = await tablesOf(db.url);
    expect(result.tables).toEqual(['accounts', 'deposits', 'orders', 'outbox']);
    expect(result.applied).toBe(1);
  });
});
