/**
 * placeOrder throughput at a given concurrency through the whole gateway (HTTP,
 * GraphQL, JWT, Postgres transaction, outbox), beside a bare postgres.js
 * transaction of the same shape; and the delay from an order's commit to its
 * record being readable on Kafka. Run: npm run bench:orders [-- ORDERS CONCURRENCY]
 */
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { mintAccessToken } from '../src/adapters/auth/access-tokens.js';
import {
  BENCH_SECRET,
  graphqlCaller,
  KAFKA_BROKERS,
  percentile,
  printTable,
  runBench,
  runConcurrently,
  startGateway,
  uniqueName,
} from './support.js';

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

runBench(async (url) => {
  const topic = uniqueName('bench-orders').replaceAll('_', '-');
  // A child process, so the gateway's CPU is not shared with this load generator's.
  const gateway = await startGateway({ DATABASE_URL: url, KAFKA_BROKERS, ORDERS_TOPIC: topic });
  const token = await mintAccessToken(BENCH_SECRET, { sub: 'bench', scope: ['accounts:write', 'orders:write', 'orders:read:all'] });
  const call = graphqlCaller(gateway.url, token);
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
  // A record can be read before its placeOrder response is: keep that moment too, and count it as no delay.
  const receivedAt = new Map<string, number>();
  const delays: number[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const id = (JSON.parse(String(message.value)) as { data: { id: string } }).data.id;
      const at = committedAt.get(id);
      if (at !== undefined) delays.push(performance.now() - at);
      else receivedAt.set(id, performance.now());
    },
  });

  process.stderr.write(`gateway: ${total} placeOrder calls at concurrency ${concurrency}\n`);
  const place = 'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }';
  const placed = await runConcurrently(total, concurrency, async (i) => {
    const data = await call(place, {
      i: { accountId: `acc-${i % accounts}`, amount: '1', currency: 'USD', product: 'bench', idempotencyKey: `k-${i}` },
    });
    // The response arrives after the commit: this under-states the delay by at most the response's trip.
    const id = data!.placeOrder!.id;
    if (receivedAt.has(id)) delays.push(0);
    else committedAt.set(id, performance.now());
  });
  const deadline = Date.now() + 60_000;
  while (delays.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect();
  await gateway.stop();
  // After the gateway stopped, so its relay never sees the baseline's outbox rows.
  process.stderr.write(`bare postgres.js: ${total} transactions at concurrency ${concurrency}\n`);
  const bare = await bareTransactions(url);
  delays.sort((a, b) => a - b);

  printTable(`placeOrder, ${total} orders over ${accounts} accounts, concurrency ${concurrency}`, [
    {
      what: 'gateway placeOrder (HTTP+GraphQL+tx+outbox)',
      'orders/s': Math.round((total / placed.elapsedMs) * 1000),
      'p50 ms': percentile(placed.latencies, 50).toFixed(1),
      'p99 ms': percentile(placed.latencies, 99).toFixed(1),
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
