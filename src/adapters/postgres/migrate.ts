import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres, { type Sql } from 'postgres';
import { isDatabaseUnavailable } from './pg-errors.js';

/** drizzle/ at the project root; src/ and dist/ sit at the same depth. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../drizzle', import.meta.url));

/** Any constant that no other tool uses; two gateways starting at once take turns. */
const MIGRATION_LOCK = 724_110_001;

/** True when the database lacks a migration of the folder (drizzle records each one's folder time). */
async function migrationsPending(sql: Sql): Promise<boolean> {
  const newest = Math.max(...readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).map((m) => m.folderMillis));
  const [table] = await sql<{ present: boolean }[]>`select to_regclass('drizzle.__drizzle_migrations') is not null as present`;
  if (!table?.present) return true;
  const [applied] = await sql<{ newest: string | null }[]>`select max(created_at)::text as newest from drizzle.__drizzle_migrations`;
  return applied?.newest == null || Number(applied.newest) < newest;
}

/**
 * Applies pending migrations under a session advisory lock, on one dedicated connection.
 * With none pending it runs no transaction at all: drizzle's migrator always opens one, and a session ended
 * during a transaction can end the process (credit-deposit.ts says why); a gateway restarted while the
 * database's connections are being cut must come up.
 */
export async function applyMigrations(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, fetch_types: false });
  try {
    if (!(await migrationsPending(sql))) return;
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`;
    await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });
    await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * applyMigrations, waiting for a database that is not answering yet (restarting, or its sessions just cut):
 * a gateway started meanwhile comes up once it answers, instead of exiting. Any other failure (a wrong
 * database name, a refused login) is thrown at once.
 */
export async function applyMigrationsWhenReachable(
  url: string,
  options: { giveUp: () => boolean; onWait: (error: unknown, retryInMs: number) => void },
): Promise<void> {
  for (let pauseMs = 250; ; pauseMs = Math.min(pauseMs * 2, 5000)) {
    try {
      return await applyMigrations(url);
    } catch (error) {
      if (options.giveUp() || !isDatabaseUnavailable(error)) throw error;
      options.onWait(error, pauseMs);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
