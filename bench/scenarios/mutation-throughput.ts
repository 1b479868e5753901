import postgres from 'postgres';
import { type BareShape, bareSettlement } from '../lib/bare-sql.js';
import { type ChildServer, startChildServer } from '../lib/child-server.js';
import { migratedScratchDatabase, pollUntil } from '../lib/environment.js';
import { graphqlClient, openAccounts, orderVariables, PLACE_ORDER } from '../lib/http-client.js';
import { closedLoop, type LoadResult } from '../lib/load.js';
import { latencyColumns, type ResultTable } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import { benchToken, startScenarioGateway } from '../lib/scenario-gateway.js';
import { percentile, ratio, round, summarize } from '../lib/stats.js';

const ACCOUNTS = 64;

interface Measured {
  what: string;
  concurrency: number;
  load: LoadResult;
  serverCpuMs: number | null;
  /** Of serverCpuMs, the main thread's (HTTP, GraphQL, the order's statement); the rest is mostly the relay's thread. */
  mainThreadCpuMs: number | null;
  loadGeneratorCpuMs: number;
}

/** CPU the load generator spent (user + system), in ms. */
const ownCpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * placeOrder at concurrency 1, 16 and 64 through the built gateway, beside the same settlement as bare
 * postgres.js calls and a no-op mutation on the same Apollo + Express stack (and on Apollo and node:http alone, as
 * the gateway serves its POSTs), all in this run and interleaved
 * per concurrency. Gateway CPU per order counts from /proc until the relay has published the step's orders.
 */
export const mutationThroughput: Scenario = {
  name: 'mutation-throughput',
  title: 'placeOrder throughput beside bare SQL and a no-op mutation',
  async run(context) {
    const { quick, progress, defer } = context;
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

    const bareDb = await migratedScratchDatabase(context.adminDatabaseUrl);
    defer(() => bareDb.drop());
    const token = await benchToken();

    /** A built gateway of its own (database, topic), its accounts, and its outbox read from a connection of ours. */
    const gatewayUnderTest = async (what: string, env: Record<string, string>, nodeArgs: readonly string[] = []) => {
      const { server, client, database } = await startScenarioGateway(context, { name: 'mutation-throughput', env, nodeArgs });
      const outbox = postgres(database.url, { max: 1, onnotice: () => {} });
      defer(() => outbox.end({ timeout: 5 }));
      const accounts = await openAccounts(client, 'acc', ACCOUNTS);
      return { what, server, client, outbox, accounts };
    };

    progress.update('mutation-throughput: starting the gateway and the no-op server');
    const gateways = [await gatewayUnderTest('gateway placeOrder', {})];
    // BENCH_GATEWAY_VARIANT="NAME=value --node-option ..." measures a second gateway with those settings in the same run.
    const variant = (process.env.BENCH_GATEWAY_VARIANT ?? '').split(' ').filter(Boolean);
    if (variant.length > 0) {
      const settings = variant.filter((word) => !word.startsWith('--'));
      const env = Object.fromEntries(settings.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
      const nodeArgs = variant.filter((word) => word.startsWith('--'));
      gateways.push(await gatewayUnderTest(`gateway placeOrder, ${variant.join(' ')}`, env, nodeArgs));
    }
    const noopServer = async (env: Record<string, string>) => {
      const server = await startChildServer('bench/baselines/noop-apollo.mjs', { NODE_ENV: 'production', ...env });
      defer(() => server.stop());
      const client = graphqlClient(server.url, { token, maxSockets: 64 });
      defer(async () => client.close());
      return { server, client };
    };
    const noop = await noopServer({});
    // The floor of what the gateway runs now: its POSTs are served without Express (http-server.ts).
    const noopOnNodeHttp = await noopServer({ NOOP_HTTP: 'node' });
    // As many connections as the gateway's pool (20): PostgreSQL here allows 100 clients, shared with other work.
    const bare = bareSettlement(bareDb.url, 20);
    defer(() => bare.close());
    // And as many as requests in flight (issue 24): the bare side unhampered by a pool, opened only as each step needs.
    const wideConcurrency = Math.max(...steps.map((step) => step.concurrency));
    const bareWide = bareSettlement(bareDb.url, wideConcurrency);
    defer(() => bareWide.close());

    const bareAccounts = await bare.openAccounts('acc', ACCOUNTS);
    const noopAccounts = gateways[0]!.accounts;
    let sequence = 0;
    const targets: {
      what: string;
      server: ChildServer | null;
      call: (i: number) => Promise<unknown>;
      drain?: () => Promise<void>;
      /** Requests in flight while warming up. @default 16 */
      warmConcurrency?: number;
    }[] = [
      {
        what: 'bare SQL, one transaction of 3 statements (postgres.js)',
        server: null,
        call: (i) => bare.settle('transaction' satisfies BareShape, bareAccounts[i % ACCOUNTS]!, `t-${sequence++}`),
      },
      {
        what: `bare SQL, one transaction of 3 statements, up to ${wideConcurrency} connections (one per request in flight)`,
        server: null,
        call: (i) => bareWide.settle('transaction', bareAccounts[i % ACCOUNTS]!, `w-${sequence++}`),
        // Every connection opened before the first step: opening 64 inside a short step measured the handshakes.
        warmConcurrency: wideConcurrency,
      },
      {
        what: 'bare SQL, one statement (postgres.js)',
        server: null,
        call: (i) => bare.settle('statement', bareAccounts[i % ACCOUNTS]!, `s-${sequence++}`),
      },
      ...gateways.map(({ what, server, client, outbox, accounts }) => ({
        what,
        server,
        call: (i: number) => client.call(PLACE_ORDER, orderVariables(accounts[i % ACCOUNTS]!, `g-${sequence++}`)),
        // The relay's work belongs to the orders: CPU is read once their outbox rows are on Kafka.
        drain: async () => {
          await pollUntil(async () => {
            const [row] = await outbox<{ n: number }[]>`select count(*)::int as n from outbox where published_at is null`;
            return row?.n === 0;
          }, 60_000);
        },
      })),
      {
        what: 'no-op mutation, same Apollo + Express stack',
        server: noop.server,
        call: (i) => noop.client.call(PLACE_ORDER, orderVariables(noopAccounts[i % ACCOUNTS]!, `n-${sequence++}`)),
      },
      {
        what: "no-op mutation, Apollo on node:http as the gateway's POSTs",
        server: noopOnNodeHttp.server,
        call: (i) => noopOnNodeHttp.client.call(PLACE_ORDER, orderVariables(noopAccounts[i % ACCOUNTS]!, `m-${sequence++}`)),
      },
    ];

    for (const target of targets) {
      progress.update(`mutation-throughput: warm-up, ${target.what}`);
      await closedLoop(warmUp, target.warmConcurrency ?? 16, target.call);
      await target.drain?.();
    }
    const latencyStarts = await Promise.all(
      gateways.map(async ({ outbox }) => {
        const [row] = await outbox<{ id: string }[]>`select coalesce(max(id), 0)::text as id from outbox`;
        return row?.id ?? '0';
      }),
    );

    const measured: Measured[] = [];
    for (const { concurrency, orders } of steps) {
      for (const target of targets) {
        const label = `mutation-throughput: c=${concurrency} ${target.what}`;
        const cpuBefore = target.server?.cpuMs() ?? null;
        const mainBefore = target.server?.mainThreadCpuMs() ?? null;
        const ownBefore = ownCpuMs();
        const load = await closedLoop(orders, concurrency, target.call, (done) => progress.update(`${label} ${done}/${orders}`));
        const loadGeneratorCpuMs = ownCpuMs() - ownBefore;
        await target.drain?.();
        const serverCpuMs = target.server && cpuBefore !== null ? target.server.cpuMs() - cpuBefore : null;
        const mainThreadCpuMs = target.server && mainBefore !== null ? target.server.mainThreadCpuMs() - mainBefore : null;
        if (load.errors > 0) throw new Error(`${target.what}: ${load.errors} calls failed, the first: ${String(load.firstError)}`);
        measured.push({ what: target.what, concurrency, load, serverCpuMs, mainThreadCpuMs, loadGeneratorCpuMs });
      }
    }

    // Commit -> acknowledged by Kafka, from the outbox itself: created_at is the outbox insert (just before the
    // commit), published_at the moment of Kafka's ack. One relay batch is marked with one published_at.
    const kafkaRows = await Promise.all(
      gateways.map(async ({ what, outbox }, g) => {
        const rows = await outbox<{ ms: number; at: string }[]>`
          select extract(epoch from (published_at - created_at)) * 1000 as ms, published_at::text as at from outbox
          where id > ${latencyStarts[g]!}::bigint and published_at is not null`;
        const batches = new Set(rows.map((r) => r.at)).size;
        return {
          what: what.replace('gateway placeOrder', 'gateway outbox relay'),
          ...summarize(rows.map((r) => Number(r.ms))),
          batches,
          perBatch: round(rows.length / Math.max(1, batches)),
        };
      }),
    );

    const rate = (m: Measured) => (m.load.latencies.length / m.load.elapsedMs) * 1000;
    const byKey = new Map(measured.map((m) => [`${m.concurrency}/${m.what}`, m]));
    const rows = measured.map((m) => {
      const sorted = [...m.load.latencies].sort((a, b) => a - b);
      const baseline = byKey.get(`${m.concurrency}/${targets[0]!.what}`)!;
      const wide = byKey.get(`${m.concurrency}/${targets[1]!.what}`)!;
      const orders = m.load.latencies.length;
      return {
        concurrency: m.concurrency,
        what: m.what,
        orders,
        throughput: round(rate(m)),
        vsBare: round(ratio(rate(m), rate(baseline))),
        vsWide: round(ratio(rate(m), rate(wide))),
        p50: round(percentile(sorted, 50)),
        p99: round(percentile(sorted, 99)),
        serverCpu: m.serverCpuMs === null ? null : round(m.serverCpuMs / orders),
        mainThreadCpu: m.mainThreadCpuMs === null ? null : round(m.mainThreadCpuMs / orders),
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
        { key: 'vsWide', label: 'ratio to bare transaction, a connection per request', unit: 'x' },
        ...latencyColumns(['p50', 'p99']),
        { key: 'serverCpu', label: 'server CPU per order', unit: 'ms' },
        { key: 'mainThreadCpu', label: 'of which main thread', unit: 'ms' },
        { key: 'loadCpu', label: 'load generator CPU per order', unit: 'ms' },
      ],
      rows,
    };
    const kafkaTable: ResultTable = {
      title: 'commit -> acknowledged by Kafka, every gateway order above (outbox published_at - created_at)',
      columns: [
        { key: 'what', label: 'what' },
        { key: 'count', label: 'records', unit: 'records' },
        ...latencyColumns(),
        { key: 'batches', label: 'relay batches', unit: 'batches' },
        { key: 'perBatch', label: 'records per batch', unit: 'records' },
      ],
      rows: kafkaRows,
    };
    return {
      tables: [table, kafkaTable],
      notes: [
        'Each step runs the baselines and the gateway one after another in this run, on the same database server.',
        'Server CPU is user + system time of the server process from /proc/PID/stat, until the relay published the step (so it includes the relay).',
        "Of which main thread: /proc/PID/task/PID/stat, the thread that runs HTTP and GraphQL; the rest is the relay's worker thread, GC and libuv threads.",
        'Timestamps in the outbox have millisecond precision.',
      ],
    };
  },
};
