/**
 * Subscriptions through the gateway (a child process) beside a bare kafkajs
 * consumer on the same topic: join time, delay from placeOrder's response to
 * the event at the subscriber at a steady order rate, and resident memory per
 * idle subscription. Run: npm run bench:subscriptions [-- RATE SECONDS IDLE]
 */
import { createClient } from 'graphql-ws';
import { Kafka, logLevel } from 'kafkajs';
import WebSocket from 'ws';
import { mintAccessToken } from '../src/adapters/auth/access-tokens.js';
import { BENCH_SECRET, graphqlCaller, KAFKA_BROKERS, percentile, printTable, runBench, startGateway, uniqueName } from './support.js';

const rate = Number(process.argv[2] ?? 100);
const seconds = Number(process.argv[3] ?? 10);
const idle = Number(process.argv[4] ?? 200);
const QUERY = 'subscription($f: OrderFilter, $s: String) { orderSettled(filter: $f, subscriberId: $s) { order { id } } }';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

runBench(async (databaseUrl) => {
  const topic = uniqueName('bench-subs').replaceAll('_', '-');
  const prefix = uniqueName('bench').replaceAll('_', '-');
  const gateway = await startGateway({ DATABASE_URL: databaseUrl, KAFKA_BROKERS, ORDERS_TOPIC: topic, KAFKA_GROUP_PREFIX: prefix });
  const token = await mintAccessToken(BENCH_SECRET, { sub: 'bench', scope: ['accounts:write', 'orders:write', 'orders:read:all'] });
  const call = graphqlCaller(gateway.url, token);
  await call('mutation($i: OpenAccountInput!) { openAccount(input: $i) { id } }', {
    i: { id: 'bench', owner: 'bench', currency: 'USD' },
  });
  await call('mutation($i: DepositInput!) { deposit(input: $i) { id } }', {
    i: { accountId: 'bench', amount: '1000000000000', idempotencyKey: 'seed' },
  });
  let sequence = 0;
  const respondedAt = new Map<string, number>();
  const place = async () => {
    const data = await call('mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id } }', {
      i: { accountId: 'bench', amount: '1', currency: 'USD', product: 'bench', idempotencyKey: `k${sequence++}` },
    });
    respondedAt.set(data!.placeOrder!.id, performance.now());
  };
  const ws = createClient({
    url: `${gateway.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
  });

  // A steady flow of orders while joining, so "first event" is about the join, not the next order.
  let flowing = true;
  const flow = (async () => {
    while (flowing) {
      const started = performance.now();
      await place();
      await sleep(Math.max(0, 1000 / rate - (performance.now() - started)));
    }
  })();

  process.stderr.write('join time: 20 subscriptions, one after another\n');
  const joins: number[] = [];
  for (let i = 0; i < 20; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      let first = true;
      const stop = ws.subscribe(
        { query: QUERY, variables: { f: { accountId: 'bench' } } },
        {
          next: () => {
            // Orders keep flowing: events can arrive before the complete does; only the first one counts.
            if (!first) return;
            first = false;
            joins.push(performance.now() - started);
            stop();
            resolve();
          },
          error: reject,
          complete: () => {},
        },
      );
    });
  }

  process.stderr.write(`delay: ${rate} orders/s for ${seconds}s to a gateway subscriber and a bare kafkajs consumer\n`);
  const viaGateway: number[] = [];
  const viaKafka: number[] = [];
  const record = (into: number[]) => (id: string) => {
    const at = respondedAt.get(id);
    if (at !== undefined) into.push(performance.now() - at);
  };
  const stopGateway = ws.subscribe<{ orderSettled: { order: { id: string } } }>(
    { query: QUERY, variables: { f: { accountId: 'bench' }, s: 'latency' } },
    { next: (r) => record(viaGateway)(r.data!.orderSettled.order.id), error: () => {}, complete: () => {} },
  );
  const kafka = new Kafka({ brokers: KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING });
  const bare = kafka.consumer({ groupId: `${prefix}.bare`, maxWaitTimeInMs: 200 });
  await bare.connect();
  await bare.subscribe({ topic });
  await bare.run({
    eachMessage: async ({ message }) => record(viaKafka)((JSON.parse(String(message.value)) as { data: { id: string } }).data.id),
  });
  await sleep(2000);
  respondedAt.clear();
  viaGateway.length = 0;
  viaKafka.length = 0;
  await sleep(seconds * 1000);
  flowing = false;
  await flow;
  await sleep(1000);
  stopGateway();
  await bare.disconnect();
  viaGateway.sort((a, b) => a - b);
  viaKafka.sort((a, b) => a - b);
  joins.sort((a, b) => a - b);

  process.stderr.write(`memory: ${idle} idle subscriptions (after one warm-up round of as many)\n`);
  const openIdle = async () => {
    const stops = Array.from({ length: idle }, () =>
      ws.subscribe({ query: QUERY, variables: { f: { accountId: 'nobody' } } }, { next: () => {}, error: () => {}, complete: () => {} }),
    );
    while ((await activeSubscriptions()) < idle) await sleep(200);
    await sleep(3000); // joins complete after the session is counted
    return () => {
      for (const stop of stops) stop();
    };
  };
  const activeSubscriptions = async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    return Number(/^gateway_subscriptions_active (\d+)/m.exec(text)?.[1] ?? 0);
  };
  // RSS moves with garbage collection: the median of a few samples, after the allocator has grown once.
  const steadyRss = async () => {
    const samples: number[] = [];
    for (let i = 0; i < 5; i++, await sleep(500)) samples.push(gateway.rssMb());
    return percentile(
      samples.sort((a, b) => a - b),
      50,
    );
  };
  (await openIdle())();
  while ((await activeSubscriptions()) > 0) await sleep(200);
  const before = await steadyRss();
  const closeIdle = await openIdle();
  const after = await steadyRss();
  closeIdle();
  await sleep(2000);

  printTable('subscribe -> first event (orders flowing)', [
    { subscriptions: joins.length, 'p50 ms': percentile(joins, 50).toFixed(1), 'p99 ms': percentile(joins, 99).toFixed(1) },
  ]);
  printTable(`placeOrder response -> event received, ${rate} orders/s for ${seconds}s`, [
    {
      via: 'gateway subscription (graphql-ws)',
      events: viaGateway.length,
      'p50 ms': percentile(viaGateway, 50).toFixed(1),
      'p99 ms': percentile(viaGateway, 99).toFixed(1),
    },
    {
      via: 'bare kafkajs consumer',
      events: viaKafka.length,
      'p50 ms': percentile(viaKafka, 50).toFixed(1),
      'p99 ms': percentile(viaKafka, 99).toFixed(1),
    },
  ]);
  printTable(`gateway resident memory with ${idle} idle subscriptions`, [
    {
      'before MiB': before.toFixed(0),
      'after MiB': after.toFixed(0),
      'per subscription KiB': (((after - before) / idle) * 1024).toFixed(0),
    },
  ]);
  await ws.dispose();
  await gateway.stop();
  const admin = kafka.admin();
  await admin.connect();
  const { groups } = await admin.listGroups();
  await admin.deleteGroups(groups.map((g) => g.groupId).filter((g) => g.startsWith(`${prefix}.`))).catch(() => {});
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
});
