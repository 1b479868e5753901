import postgres, { type Sql } from 'postgres';

export interface PostgresReachability {
  /** True when `select 1` answers within the timeout; never rejects. */
  check(): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * `select 1` on a connection of its own, kept between checks: a check never waits behind (nor takes a slot from) the
 * request pool that placeOrder uses. A check that fails or times out closes the connection, which ends its query, and
 * resolves once it has; the next check connects afresh.
 */
export function postgresReachability(url: string, timeoutMs = 2000): PostgresReachability {
  let sql: Sql | undefined;
  let closed = false;
  const open = () =>
    postgres(url, {
      max: 1,
      onnotice: () => {},
      // As in database.ts: no array types are read, so a session ended meanwhile cannot reject unhandled.
      fetch_types: false,
      connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)),
      connection: { application_name: 'graphql-kafka-gateway readiness' },
    });
  const drop = async () => {
    const dropped = sql;
    sql = undefined;
    await dropped?.end({ timeout: 0 }).catch(() => {});
  };
  return {
    async check() {
      if (closed) return false;
      sql ??= open();
      const client = sql;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const query = client`select 1`.then(
        () => true,
        () => false,
      );
      try {
        const up = await Promise.race([query, timeout]);
        if (!up && sql === client) {
          await drop();
          await query;
        }
        return up;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      closed = true;
      await drop();
    },
  };
}
