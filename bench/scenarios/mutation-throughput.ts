import postgres from 'postgres';
import { mintAccessToken } from '../../src/adapters/auth/access-tokens.js';
import { type BareShape, bareSettlement } from '../lib/bare-sql.js';
import { BENCH_SECRET, type ChildServer, startChildServer, startGateway } from '../lib/child-server.js';
import { KAFKA_BROKERS, migratedScratchDatabase, pollUntil, removeKafkaResources, uniqueName } from '../lib/environment.js';
import { graphqlClient, openAccounts, orderVariables, PLACE_ORDER } from '../lib/http-client.js';
import { closedLoop, type LoadResult } from '../lib/load.js';
import type { ResultTable } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import { percentile, ratio, round, summarize } from '../lib/stats.js';

const ACCOUNTS = 64;

interface Measured {
  what: string;
  concurrency: number;
  load: LoadResult;
  serverCpuMs: number | null;
  loadGeneratorCpuMs: number;
}

/** CPU the load generator spent (user + system), in ms. */
const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * placeOrder at concurrency 1, 16 and 64 through the built gateway, beside the same settlement as bare
 * postgres.js calls and a no-op mutation on the same Apollo + Express stack, all in this run and interleaved
 * per concurrency. Gateway CPU per order counts from /proc until the relay has published the step's orders.
 */
export const mutationThroughput: Scenario = {
  name: 'mutation-throughput',
  title: 'placeOrder throughput beside bare SQL and a no-op mutation',
  async run({ quick, progress, defer }) {
    const steps = quick
      ? [
          { concurrency: 1, orders: 200 },
          { concurrency: 16, orders: 1000 },
          { concurrency: 64, orders: 1000 },
        ]
      : [
          { concurrency: 1, orders: 1500 },
          { concurrency: 16, orders: 8000 },
          { concurrency: 64, orders: 8000 },
        ];
    const warmUp = quick ? 200 : 500;

    const gatewayDb = await migratedScratchDatabase();
    defer(() => gatewayDb.drop());
    const bareDb = await migratedScratchDatabase();
    defer(() => bareDb.drop());
    const topic = uniqueName('bench-mutations').replaceAll('_', '-');
    const groupPrefix = uniqueName('bench').replaceAll('_', '-');
    defer(() => removeKafkaResources(KAFKA_BROKERS, [topic], `${groupPrefix}.`));

    progress.update('mutation-throughput: starting the gateway and the no-op server');
    const gateway = await startGateway({
      DATABASE_URL: gatewayDb.url,
      KAFKA_BROKERS,
      ORDERS_TOPIC: topic,
      KAFKA_GROUP_PREFIX: groupPrefix,
    });
    defer(() => gateway.stop());
    const noop = await startChildServer('bench/baselines/noop-apollo.mjs', { NODE_ENV: 'production' });
    defer(() => noop.stop());

    const token = await mintAccessToken(BENCH_SECRET, { sub: 'bench', scope: ['accounts:write', 'orders:write', 'orders:read:all'] });
    const client = graphqlClient(gateway.url, { token, maxSockets: 64 });
    defer(async () => client.close());
    const noopClient = graphqlClient(noop.url, { token, maxSockets: 64 });
    defer(async () => noopClient.close());
    // As many connections as the gateway's pool (20): PostgreSQL here allows 100 clients, shared with other work.
    const bare = bareSettlement(bareDb.url, 20);
    defer(() => bare.close());
    const outbox = postgres(gatewayDb.url, { max: 1, onnotice: () => {} });
    defer(() => outbox.end({ timeout: 5 }));

    const gatewayAccounts = await openAccounts(client, 'acc', ACCOUNTS);
    const bareAccounts = await bare.openAccounts('acc', ACCOUNTS);
    let sequence = 0;
    const targets: { what: string; server: ChildServer | null; call: (i: number) => Promise<unknown>; drain?: () => Promise<void> }[] = [
      {
        what: 'bare SQL, one transaction of 3 statements (postgres.js)',
        server: null,
        call: (i) => bare.settle('transaction' satisfies BareShape, bareAccounts[i % ACCOUNTS]!, `t-${sequence++}`),
      },
      {
        what: 'bare SQL, one statement (postgres.js)',
        server: null,
        call: (i) => bare.settle('statement', bareAccounts[i % ACCOUNTS]!, `s-${sequence++}`),
      },
      {
        what: 'gateway placeOrder',
        server: gateway,
        call: (i) => client.call(PLACE_ORDER, orderVariables(gatewayAccounts[i % ACCOUNTS]!, `g-${sequence++}`)),
        // The relay's work belongs to the orders: CPU is read once their outbox rows are on Kafka.
        drain: async () => {
          await pollUntil(async () => {
            const [row] = await outbox<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`;
            return row?.n === 0;
          }, 60_000);
        },
      },
      {
        what: 'no-op mutation, same Apollo + Express stack',
        server: noop,
        call: (i) => noopClient.call(PLACE_ORDER, orderVariables(gatewayAccounts[i % ACCOUNTS]!, `n-${sequence++}`)),
      },
    ];

    for (const target of targets) {
      progress.update(`mutation-throughput: warm-up, ${target.what}`);
      await closedLoop(warmUp, 16, target.call);
      await target.drain?.();
    }

    const measured: Measured[] = [];
    const [latencyStart] = await outbox<{ id: string }[]>`select coalesce(max(id), 0)::text as id from outbox`;
    for (const { concurrency, orders } of steps) {
      for (const target of targets) {
        const label = `mutation-throughput: c=${concurrency} ${target.what}`;
        const cpuBefore = target.server?.cpuMs() ?? null;
        const ownBefore = ownCpuMs();
        const load = await closedLoop(orders, concurrency, target.call, (done) => progress.update(`${label} ${done}/${orders}`));
        const loadGeneratorCpuMs = ownCpuMs() - ownBefore;
        await target.drain?.();
        const serverCpuMs = target.server && cpuBefore !== null ? target.server.cpuMs() - cpuBefore : null;
        if (load.errors > 0) throw new Error(`${target.what}: ${load.errors} calls failed, the first: ${String(load.firstError)}`);
        measured.push({ what: target.what, concurrency, load, serverCpuMs, loadGeneratorCpuMs });
      }
    }

    // Commit -> acknowledged by Kafka, from the outbox itself: created_at is the outbox insert (just before the
    // commit), published_at is set after Kafka's ack, so this over-states the delay by a round trip at most.
    const delays = await outbox<{ ms: number }[]>`
      select extract(epoch from (published_at - created_at)) * 1000 as ms from outbox
      where id > ${latencyStart?.id ?? '0'}::bigint and published_at is not null`;
    const kafkaDelay = summarize(delays.map((d) => Number(d.ms)));

    const rate = (m: Measured) => (m.load.latencies.length / m.load.elapsedMs) * 1000;
    const byKey = new Map(measured.map((m) => [`${m.concurrency}/${m.what}`, m]));
    const rows = measured.map((m) => {
      const sorted = [...m.load.latencies].sort((a, b) => a - b);
      const baseline = byKey.get(`${m.concurrency}/${targets[0]!.what}`)!;
      const orders = m.load.latencies.length;
      return {
        concurrency: m.concurrency,
        what: m.what,
        orders,
        throughput: round(rate(m)),
        vsBare: round(ratio(rate(m), rate(baseline))),
        p50: round(percentile(sorted, 50)),
        p99: round(percentile(sorted, 99)),
        serverCpu: m.serverCpuMs === null ? null : round(m.serverCpuMs / orders),
        loadCpu: round(m.loadGeneratorCpuMs / orders),
      };
    });
    const table: ResultTable = {
      title: `placeOrder over ${ACCOUNTS} accounts, closed loop (each worker sends when its last call answered)`,
      columns: [
        { key: 'what', label: 'what' },
        { key: 'concurrency', label: 'concurrency', unit: 'requests in flight' },
        { key: 'orders', label: 'orders', unit: 'orders' },
        { key: 'throughput', label: 'throughput', unit: 'orders/s' },
        { key: 'vsBare', label: 'ratio to bare transaction', unit: 'x' },
        { key: 'p50', label: 'p50', unit: 'ms' },
        { key: 'p99', label: 'p99', unit: 'ms' },
        { key: 'serverCpu', label: 'server CPU per order', unit: 'ms' },
        { key: 'loadCpu', label: 'load generator CPU per order', unit: 'ms' },
      ],
      rows,
    };
    const kafkaTable: ResultTable = {
      title: 'commit -> acknowledged by Kafka, every gateway order above (outbox published_at - created_at)',
      columns: [
        { key: 'what', label: 'what' },
        { key: 'count', label: 'records', unit: 'records' },
        { key: 'p50', label: 'p50', unit: 'ms' },
        { key: 'p95', label: 'p95', unit: 'ms' },
        { key: 'p99', label: 'p99', unit: 'ms' },
        { key: 'max', label: 'max', unit: 'ms' },
      ],
      rows: [{ what: 'gateway outbox relay', ...kafkaDelay }],
    };
    return {
      name: this.name,
      title: this.title,
      tables: [table, kafkaTable],
      notes: [
        'Each step runs the baselines and the gateway one after another in this run, on the same database server.',
        'Server CPU is user + system time of the server process from /proc/PID/stat, until the relay published the step (so it includes the relay).',
        'Timestamps in the outbox have millisecond precision.',
      ],
    };
  },
};
