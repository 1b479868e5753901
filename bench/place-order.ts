/**
 * placeOrder throughput at a given concurrency through the whole gateway (HTTP,
 * GraphQL, JWT, Postgres transaction, outbox), beside a bare postgres.js
 * transaction of the same shape; and the delay from an order's commit to its
 * record being readable on Kafka. Run: npm run bench:orders [-- ORDERS CONCURRENCY]
 */
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { mintAccessToken } from '../src/adapters/auth/access-tokens.js';
import { applyMigrations } from '../src/adapters/postgres/migrate.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { BENCH_SECRET, KAFKA_BROKERS, percentile, printTable, runConcurrently, uniqueName, withDatabase } from './support.js';

const total = Number(process.argv[2] ?? 4000);
const concurrency = Number(process.argv[3] ?? 16);
const accounts = 64;

async function bareTransactions(url: string) {
  const sql = postgres(url, { max: concurrency, onnotice: () => {} });
  await sql`insert into accounts (id, owner, currency, balance) select 'raw-' || g, 'bench', 'USD', 1000000000 from generate_series(0, ${accounts - 1}) g`;
  const result = await runConcurrently(total, concurrency, async (i) => {
    await sql.begin(async (tx) => {
      const id = `raw-${i % accounts}`;
      await tx`select 1 from accounts where id = ${id} for update`;
      const [row] = await tx`update accounts set balance = balance - 1 where id = ${id} and balance >= 1 returning balance`;
      const orderId = crypto.randomUUID();
      await tx`insert into orders (id, account_id, amount, currency, product, balance_after, idempotency_key, created_at, settled_at)
        values (${orderId}, ${id}, 1, 'USD', 'bench', ${row!.balance}, ${`raw-${i}`}, now(), now())`;
      await tx`insert into outbox (event_id, topic, key, value) values (${crypto.randomUUID()}, 'none', ${id}, '{}'::jsonb)`;
    });
  });
  await sql`delete from outbox where topic = 'none'`;
  await sql.end();
  return result;
}

async function main() {
  await withDatabase(async (url) => {
    await applyMigrations(url);
    const topic = uniqueName('bench-orders').replaceAll('_', '-');
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '0',
      DATABASE_URL: url,
      KAFKA_BROKERS,
      ORDERS_TOPIC: topic,
      AUTH_JWT_SECRET: BENCH_SECRET,
      LOG_LEVEL: 'warn',
      EXPLORER_ENABLED: 'false',
    });
    const app = await buildApp(config, createLogger('warn'));
    const { port } = await app.start();
    const endpoint = `http://127.0.0.1:${port}/graphql`;
    const token = await mintAccessToken(BENCH_SECRET, { sub: 'bench', scope: ['accounts:write', 'orders:write', 'orders:read:all'] });
    const call = async (query: string, variables: unknown) => {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { errors?: unknown; data?: Record<string, { id: string }> };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    for (let a = 0; a < accounts; a++) {
      await call('mutation($i: OpenAccountInput!) { openAccount(input: $i) { id } }', {
        i: { id: `acc-${a}`, owner: 'bench', currency: 'USD' },
      });
      await call('mutation($i: DepositInput!) { deposit(input: $i) { id } }', {
        i: { accountId: `acc-${a}`, amount: '1000000000', idempotencyKey: 'seed' },
      });
    }

    const kafka = new Kafka({ brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: uniqueName('bench-reader'), maxWaitTimeInMs: 50 });
    const committedAt = new Map<string, number>();
    const delays: number[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const id = (JSON.parse(String(message.value)) as { data: { id: string } }).data.id;
        const at = committedAt.get(id);
        if (at !== undefined) delays.push(performance.now() - at);
      },
    });

    process.stderr.write(`gateway: ${total} placeOrder calls at concurrency ${concurrency}\n`);
    const place = 'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }';
    const gateway = await runConcurrently(total, concurrency, async (i) => {
      const data = await call(place, {
        i: { accountId: `acc-${i % accounts}`, amount: '1', currency: 'USD', product: 'bench', idempotencyKey: `k-${i}` },
      });
      // The response arrives after the commit: this under-states the delay by at most the response's trip.
      committedAt.set(data!.placeOrder!.id, performance.now());
    });
    const deadline = Date.now() + 60_000;
    while (delays.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await consumer.disconnect();
    await app.stop();
    // After the gateway stopped, so its relay never sees the baseline's outbox rows.
    process.stderr.write(`bare postgres.js: ${total} transactions at concurrency ${concurrency}\n`);
    const bare = await bareTransactions(url);
    delays.sort((a, b) => a - b);

    printTable(`placeOrder, ${total} orders over ${accounts} accounts, concurrency ${concurrency}`, [
      {
        what: 'gateway placeOrder (HTTP+GraphQL+tx+outbox)',
        'orders/s': Math.round((total / gateway.elapsedMs) * 1000),
        'p50 ms': percentile(gateway.latencies, 50).toFixed(1),
        'p99 ms': percentile(gateway.latencies, 99).toFixed(1),
      },
      {
        what: 'bare postgres.js transaction, same SQL',
        'orders/s': Math.round((total / bare.elapsedMs) * 1000),
        'p50 ms': percentile(bare.latencies, 50).toFixed(1),
        'p99 ms': percentile(bare.latencies, 99).toFixed(1),
      },
    ]);
    printTable('commit -> record readable on Kafka (consumer receive time minus placeOrder response time)', [
      {
        records: delays.length,
        'p50 ms': percentile(delays, 50).toFixed(1),
        'p90 ms': percentile(delays, 90).toFixed(1),
        'p99 ms': percentile(delays, 99).toFixed(1),
      },
    ]);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
