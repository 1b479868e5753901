import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres, { type Sql } from 'postgres';
import { coalescingSockets } from './coalescing-socket.js';
import * as schema from './schema.js';

export type Db = PostgresJsDatabase<typeof schema>;

export interface Database {
  readonly sql: Sql;
  readonly db: Db;
  close(): Promise<void>;
}

/** Opens a pooled connection (lazily: nothing connects until the first query). */
export function openDatabase(
  url: string,
  options: {
    max?: number;
    applicationName?: string;
    /** Seconds; null keeps a connection for good. */
    maxLifetime?: number | null;
    /** Statements written within one turn leave in one socket write (coalescing-socket.ts). @default false */
    coalesceWrites?: boolean;
  } = {},
): Database {
  const sql = postgres(url, {
    max: options.max ?? 20,
    ...(options.maxLifetime !== undefined && { max_lifetime: options.maxLifetime }),
    onnotice: () => {},
    // postgres.js reads the array types on every new connection and drops that promise: a session ended while it
    // runs (pg_terminate_backend, a restart) became an unhandled rejection that ends the process. We send no arrays.
    fetch_types: false,
    connection: { application_name: options.applicationName ?? 'graphql-kafka-gateway' },
    // bigint columns arrive as JS bigint, never as lossy numbers.
    types: { bigint: postgres.BigInt },
    // Not in postgres.js's types, but a documented option: a factory of connected sockets.
    ...(options.coalesceWrites && ({ socket: coalescingSockets() } as object)),
  });
  const db = drizzle(sql, { schema });
  return {
    sql,
    db,
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
