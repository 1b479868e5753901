import postgres from 'postgres';
import { keptClientCheck, type ReachabilityCheck } from '../kept-client-check.js';

/**
 * `select 1` on a connection of its own: a check never waits behind, nor takes a slot from, the request pool that
 * placeOrder uses.
 */
export function postgresReachability(url: string, timeoutMs = 2000): ReachabilityCheck {
  return keptClientCheck({
    open: () =>
      postgres(url, {
        max: 1,
        onnotice: () => {},
        // As in database.ts: no array types are read, so a session ended meanwhile cannot reject unhandled.
        fetch_types: false,
        connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
        connection: { application_name: 'graphql-kafka-gateway readiness' },
      }),
    ask: (sql) => sql`select 1`,
    close: (sql) => sql.end({ timeout: 0 }),
    timeoutMs,
  });
}
