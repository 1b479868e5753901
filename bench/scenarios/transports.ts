import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import type { Producer } from 'kafkajs';
import { orderRecord } from '../lib/account-publisher.js';
import { type BenchChild, forkBenchChild } from '../lib/bench-child.js';
import { sumClientCounts } from '../lib/client-counts.js';
import { kafkaClient, pollUntil, sleep } from '../lib/environment.js';
import { openLoop } from '../lib/load.js';
import { monotonicMs } from '../lib/monotonic-clock.js';
import type { Cell, ResultTable } from '../lib/results.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { startScenarioGateway } from '../lib/scenario-gateway.js';
import { connectCollector, type GatewayCollector, INSPECT_ARG } from '../lib/sse-gateway-gc.js';
import type { ReceiversAnswer, ReceiversRequest, ReceiverTransport } from '../lib/sse-receivers.js';
import { median, ratio, round, summarize } from '../lib/stats.js';

/** The issue's target: SSE's memory per subscription and delivery p50/p99 within this factor of graphql-ws's. */
const TARGET = 1.5;
/** Subscriptions opened per second in each client process, as clients join in practice. */
const JOINS_PER_SECOND = 100;

type Receivers = BenchChild<ReceiversRequest, ReceiversAnswer>;
type Status = Extract<ReceiversAnswer, { type: 'status' }>;

interface Group {
  transport: Exclude<ReceiverTransport, 'kafka'>;
  label: string;
  accountId: string;
  processes: Receivers[];
}

const statusOf = async (child: Receivers): Promise<Status> => {
  const answer = await child.ask({ type: 'status' });
  if (answer.type !== 'status') throw new Error('a receivers process answered status with something else');
  return answer;
};

/** The sum of a group's processes' statuses. */
async function groupStatus(processes: readonly Receivers[]): Promise<Status> {
  const all = await Promise.all(processes.map(statusOf));
  return { type: 'status', ...sumClientCounts(all), readyLatencies: all.flatMap((s) => s.readyLatencies) };
}

/** Per record id, its arrivals at every receiver of the group (all of its processes). */
async function groupArrivals(processes: readonly Receivers[]): Promise<Map<string, number[]>> {
  const merged = new Map<string, number[]>();
  for (const child of processes) {
    const answer = await child.ask({ type: 'collect' });
    if (answer.type !== 'arrivals') throw new Error('a receivers process answered collect with something else');
    for (const [id, times] of answer.arrivals) merged.set(id, [...(merged.get(id) ?? []), ...times]);
  }
  return merged;
}

/**
 * RSS of the gateway after `settleMs` of quiet and full collections, repeated until two readings in a row are within
 * 1 MiB of each other (memory a collection frees goes back to the system over a few of them), at most eight times.
 */
async function settledRss(rssBytes: () => number, collector: GatewayCollector, settleMs: number): Promise<{ rss: number; js: number }> {
  await sleep(settleMs);
  let last = Number.NaN;
  for (let i = 0; i < 8; i++) {
    await collector.collect();
    await sleep(250);
    const rss = rssBytes();
    if (Math.abs(rss - last) < 2 ** 20) break;
    last = rss;
  }
  return { rss: rssBytes(), js: await collector.jsBytes() };
}

/** Publish -> arrival of each record at each receiver, and at the last receiver of each record (every one has it). */
function delaysOf(publishedAt: ReadonlyMap<string, number>, arrivals: ReadonlyMap<string, number[]>) {
  const each: number[] = [];
  const last: number[] = [];
  for (const [id, times] of arrivals) {
    const published = publishedAt.get(id);
    if (published === undefined) continue;
    for (const at of times) each.push(at - published);
    last.push(Math.max(...times) - published);
  }
  return { each: summarize(each), last: summarize(last) };
}

async function run(context: ScenarioContext) {
  const { quick, progress, defer } = context;
  const perTransport = quick ? 100 : 1000;
  const processesPerTransport = quick ? 1 : 2;
  // Every subscription of a transport receives each of its records: records/s x subscriptions deliveries per second.
  const ratePerTransport = quick ? 10 : 2;
  const seconds = quick ? 3 : 30;
  const slackMs = quick ? 20_000 : 30_000;
  const settleMs = quick ? 1000 : 3000;
  const warmPerProcess = quick ? 10 : 20;
  const rounds = quick ? 3 : 6;

  const {
    server: gateway,
    brokers,
    topic,
    groupPrefix,
    token,
  } = await startScenarioGateway(context, {
    name: 'transports',
    // One caller opens them all: the benchmark measures the transports, not the per-caller limit.
    env: { SUBSCRIPTIONS_PER_CALLER: '0' },
    nodeArgs: [INSPECT_ARG],
  });
  const collector = await connectCollector(gateway.lines);
  defer(async () => collector.close());

  const producer: Producer = kafkaClient(brokers).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  defer(() => producer.disconnect());
  const publishedAt = new Map<string, number>();
  let sequence = 0;
  const publish = async (accountId: string) => {
    const id = `t-${sequence++}-${randomUUID().slice(0, 8)}`;
    // Publish time: just before the producer is asked to append it (acks all), on the clock the receivers share.
    publishedAt.set(id, monotonicMs());
    await producer.send({ topic, acks: -1, messages: [orderRecord(accountId, id)] });
  };
  progress.update('transports: waiting for the gateway to create its topic');
  const created = await pollUntil(
    () =>
      publish('transports-warm-up').then(
        () => true,
        () => false,
      ),
    60_000,
    500,
  );
  if (!created) throw new Error(`transports: the gateway's topic ${topic} did not appear within 60 s`);

  const fork = async (transport: ReceiverTransport, accountId: string) => {
    const child = await forkBenchChild<ReceiversRequest, ReceiversAnswer>(
      'bench/lib/sse-receivers.ts',
      'RECEIVERS_SETUP',
      { transport, url: gateway.url, token, accountId, perSecond: JOINS_PER_SECOND, brokers, topic, groupId: `${groupPrefix}.bare` },
      { type: 'close' },
    );
    defer(() => child.close());
    return child;
  };
  const groupOf = async (transport: Group['transport'], label: string): Promise<Group> => {
    const accountId = `${transport}-${randomUUID().slice(0, 8)}`;
    const processes: Receivers[] = [];
    for (let i = 0; i < processesPerTransport; i++) processes.push(await fork(transport, accountId));
    return { transport, label, accountId, processes };
  };

  progress.update('transports: starting the bare consumer and the client processes');
  const bare = await fork('kafka', 'every-account');
  const sse = await groupOf('sse', 'GraphQL over SSE');
  const ws = await groupOf('ws', 'graphql-ws');
  const groups = [sse, ws];

  // The bare consumer starts at LATEST: it is live once a record published after its join reached it.
  const bareLive = await pollUntil(
    async () => {
      await publish('transports-warm-up');
      return (await statusOf(bare)).ready > 0;
    },
    60_000,
    500,
  );
  if (!bareLive) throw new Error('transports: the bare kafkajs consumer saw no record within 60 s');

  /** Opens `perProcess` more subscriptions in each of the group's processes and waits until every one is ready. */
  const openMore = async (group: Group, perProcess: number, what: string) => {
    const target = (await groupStatus(group.processes)).open + perProcess * group.processes.length;
    const label = `transports: ${what} ${group.label} subscriptions`;
    // Each subscription starts `since` just before one record on its account: ready = that record arrived.
    const since = new Date(Date.now() - 1).toISOString();
    await publish(group.accountId);
    for (const child of group.processes) child.send({ type: 'open', count: perProcess, since });
    const boundMs = slackMs + (perProcess / JOINS_PER_SECOND) * 1000;
    const started = Date.now();
    let status = await groupStatus(group.processes);
    while (status.ready < target && status.errors === 0 && Date.now() - started < boundMs) {
      await sleep(250);
      // Another record on the account only if some subscription still has none once the joins are done.
      if (Date.now() - started > boundMs - slackMs / 2) await publish(group.accountId);
      status = await groupStatus(group.processes);
      progress.update(
        `${label}: ${status.ready} of ${target} ready, ${status.errors} errors, ${Math.round((Date.now() - started) / 1000)}s`,
      );
    }
    if (status.ready < target || status.errors > 0)
      throw new Error(
        `${label}: ${status.ready} of ${status.open} ready, ${status.errors} errors after ${Math.round((Date.now() - started) / 1000)} s (first: ${status.firstError})`,
      );
    return status;
  };

  // A few of each transport before the baseline: the first streams and sockets of a process grow its heap and load
  // code that every later one shares, which would otherwise be charged to whichever group opened first.
  for (const group of groups) await openMore(group, warmPerProcess, 'warm-up');
  progress.update('transports: baseline RSS');
  // Longer quiet before the baseline: what the start-up and the warm-up allocated and dropped goes back first.
  await sleep(settleMs * 2);
  const base = await settledRss(() => gateway.rssBytes(), collector, settleMs);
  const measured = perTransport - warmPerProcess * processesPerTransport;
  const perRound = measured / rounds / processesPerTransport;
  const chunks = new Map<Group, number[]>(groups.map((g) => [g, []]));
  const jsChunks = new Map<Group, number[]>(groups.map((g) => [g, []]));
  const baseRss = base.rss;
  const readyP50 = new Map<Group, number>();
  let lastRss = baseRss;
  let lastJs = base.js;
  const readings = [`baseline ${round(baseRss / 2 ** 20)} (JS ${round(base.js / 2 ** 20)})`];

  // The rest in rounds, the transports taking turns to go first: each chunk's RSS growth is read against the reading
  // before it, so the heap's own growth and the collector's timing fall on both transports alike.
  for (let turn = 0; turn < rounds; turn++) {
    for (const group of turn % 2 === 0 ? groups : [...groups].reverse()) {
      const status = await openMore(group, perRound, `round ${turn + 1} of ${rounds}:`);
      readyP50.set(group, summarize(status.readyLatencies).p50);
      progress.update(`transports: round ${turn + 1} of ${rounds}, ${group.label}: RSS`);
      const { rss, js } = await settledRss(() => gateway.rssBytes(), collector, settleMs);
      chunks.get(group)?.push(rss - lastRss);
      jsChunks.get(group)?.push(js - lastJs);
      lastJs = js;
      readings.push(`${group.transport} +${perRound * processesPerTransport}: ${round(rss / 2 ** 20)} (JS ${round(js / 2 ** 20)})`);
      lastRss = rss;
    }
  }

  // Both groups open: records alternate between the two accounts (SSE, ws, ws, SSE, ...), so each transport's
  // records reach only its own subscriptions and neither is always served first.
  for (const child of [bare, ...sse.processes, ...ws.processes]) child.send({ type: 'reset' });
  publishedAt.clear();
  const cpuBefore = gateway.cpuMs();
  const load = await openLoop(
    ratePerTransport * 2,
    seconds,
    (i) => publish(((i + (i >> 1)) & 1) === 0 ? sse.accountId : ws.accountId),
    (sent) => progress.update(`transports: ${ratePerTransport}/s per transport for ${seconds}s, ${sent} published`),
  );
  const windowMs = load.elapsedMs;
  const gatewayCpu = ((gateway.cpuMs() - cpuBefore) / windowMs) * 100;
  const loadAverage = round(loadavg()[0] ?? Number.NaN);
  if (load.errors > 0) throw new Error(`transports: ${load.errors} records were not appended, the first: ${String(load.firstError)}`);
  const records = load.latencies.length;
  const perGroup = new Map(groups.map((g, index) => [g, Math.ceil((records - index) / 2)]));
  await pollUntil(async () => {
    const [bareStatus, ...statuses] = await Promise.all([statusOf(bare), ...groups.map((g) => groupStatus(g.processes))]);
    const groupsDone = groups.every((g, i) => (statuses[i]?.received ?? 0) >= (perGroup.get(g) ?? 0) * perTransport);
    return groupsDone && (bareStatus?.received ?? 0) >= records;
  }, 30_000);

  const bareDelays = delaysOf(publishedAt, await groupArrivals([bare]));
  const delays = new Map<Group, ReturnType<typeof delaysOf>>();
  for (const group of groups) delays.set(group, delaysOf(publishedAt, await groupArrivals(group.processes)));

  // The median chunk: one release of memory the process held from before (a collection handing pages back) would
  // otherwise be charged to whichever chunk it fell in.
  const perSub = new Map<Group, number>(groups.map((g) => [g, median(chunks.get(g) ?? []) / 1024 / (perRound * processesPerTransport)]));
  const jsPerSub = new Map<Group, number>(
    groups.map((g) => [g, median(jsChunks.get(g) ?? []) / 1024 / (perRound * processesPerTransport)]),
  );
  const growth = (g: Group) => (chunks.get(g) ?? []).reduce((sum, delta) => sum + delta, 0);
  const wsDelays = delays.get(ws);
  const wsPerSub = perSub.get(ws) ?? Number.NaN;
  const rowOf = (group: Group): Record<string, Cell> => {
    const d = delays.get(group);
    return {
      what: `${group.label}, one connection each`,
      subscriptions: perTransport,
      processes: processesPerTransport,
      readyP50: round(readyP50.get(group) ?? Number.NaN),
      rssMib: round(growth(group) / 2 ** 20),
      perSubKib: round(perSub.get(group) ?? Number.NaN),
      jsKib: round(jsPerSub.get(group) ?? Number.NaN),
      memoryRatio: round(ratio(perSub.get(group) ?? Number.NaN, wsPerSub)),
      samples: d?.each.count ?? 0,
      p50: round(d?.each.p50 ?? Number.NaN),
      p99: round(d?.each.p99 ?? Number.NaN),
      max: round(d?.each.max ?? Number.NaN),
      p50Ratio: round(ratio(d?.each.p50 ?? Number.NaN, wsDelays?.each.p50 ?? Number.NaN)),
      p99Ratio: round(ratio(d?.each.p99 ?? Number.NaN, wsDelays?.each.p99 ?? Number.NaN)),
      lastP50: round(d?.last.p50 ?? Number.NaN),
      lastP99: round(d?.last.p99 ?? Number.NaN),
    };
  };
  const rows: Record<string, Cell>[] = [
    {
      what: 'baseline: warm-up subscriptions only (delivery: bare kafkajs consumer)',
      subscriptions: warmPerProcess * processesPerTransport * 2,
      processes: 1,
      baseRssMib: round(baseRss / 2 ** 20),
      rssMib: round((lastRss - baseRss) / 2 ** 20),
      samples: bareDelays.each.count,
      p50: round(bareDelays.each.p50),
      p99: round(bareDelays.each.p99),
      max: round(bareDelays.each.max),
      p50Ratio: round(ratio(bareDelays.each.p50, wsDelays?.each.p50 ?? Number.NaN)),
      p99Ratio: round(ratio(bareDelays.each.p99, wsDelays?.each.p99 ?? Number.NaN)),
    },
    rowOf(ws),
    rowOf(sse),
  ];
  const sseDelays = delays.get(sse);
  const verdict = (value: number) => (!Number.isFinite(value) ? '-' : value <= TARGET ? 'met' : 'missed');
  const targetRow = (what: string, wsValue: number, sseValue: number, unit: string): Record<string, Cell> => {
    const r = ratio(sseValue, wsValue);
    return { what, unit, ws: round(wsValue), sse: round(sseValue), ratio: round(r), target: TARGET, verdict: verdict(r) };
  };
  const targetRows = [
    targetRow('RSS growth per subscription', wsPerSub, perSub.get(sse) ?? Number.NaN, 'KiB'),
    targetRow('JS heap + external per subscription', jsPerSub.get(ws) ?? Number.NaN, jsPerSub.get(sse) ?? Number.NaN, 'KiB'),
    targetRow('publish -> receipt p50', wsDelays?.each.p50 ?? Number.NaN, sseDelays?.each.p50 ?? Number.NaN, 'ms'),
    targetRow('publish -> receipt p99', wsDelays?.each.p99 ?? Number.NaN, sseDelays?.each.p99 ?? Number.NaN, 'ms'),
  ];

  const table: ResultTable = {
    title: `${perTransport} GraphQL-over-SSE and ${perTransport} graphql-ws subscriptions on one gateway, side by side; ${ratePerTransport} records/s per transport for ${seconds} s, each to every subscription of its transport`,
    columns: [
      { key: 'what', label: 'what' },
      { key: 'subscriptions', label: 'subscriptions', unit: 'subscriptions' },
      { key: 'processes', label: 'client processes', unit: 'processes' },
      { key: 'readyP50', label: 'subscribe -> ready p50', unit: 'ms' },
      { key: 'baseRssMib', label: 'gateway RSS at baseline', unit: 'MiB' },
      { key: 'rssMib', label: 'gateway RSS growth', unit: 'MiB' },
      { key: 'perSubKib', label: 'RSS growth per subscription', unit: 'KiB' },
      { key: 'jsKib', label: 'JS heap + external per subscription', unit: 'KiB' },
      { key: 'memoryRatio', label: 'per subscription / graphql-ws', unit: 'x' },
      { key: 'samples', label: 'deliveries', unit: 'deliveries' },
      { key: 'p50', label: 'publish -> receipt p50', unit: 'ms' },
      { key: 'p99', label: 'publish -> receipt p99', unit: 'ms' },
      { key: 'max', label: 'max', unit: 'ms' },
      { key: 'p50Ratio', label: 'p50 / graphql-ws p50', unit: 'x' },
      { key: 'p99Ratio', label: 'p99 / graphql-ws p99', unit: 'x' },
      { key: 'lastP50', label: 'last subscriber of a record p50', unit: 'ms' },
      { key: 'lastP99', label: 'last subscriber of a record p99', unit: 'ms' },
    ],
    rows,
  };
  const targetTable: ResultTable = {
    title: `the issue's target: SSE within ${TARGET}x of graphql-ws`,
    columns: [
      { key: 'what', label: 'what' },
      { key: 'unit', label: 'unit' },
      { key: 'ws', label: 'graphql-ws' },
      { key: 'sse', label: 'SSE' },
      { key: 'ratio', label: 'SSE / graphql-ws', unit: 'x' },
      { key: 'target', label: 'target at most', unit: 'x' },
      { key: 'verdict', label: 'target' },
    ],
    rows: targetRows,
  };
  return {
    tables: [table, targetTable],
    notes: [
      `Every subscription is orderSettled filtered on its transport's account (ephemeral, starting at \`since\`), one TCP connection each: SSE as POST /graphql with Accept: text/event-stream and a bearer token, read with node's http client; graphql-ws with one socket per subscription. Each transport's clients run in ${processesPerTransport} process(es) of their own, apart from the load generator and the built gateway (node dist/main.js).`,
      `Records are orderSettled CloudEvents appended straight to the gateway's topic by a kafkajs producer (acks all) in the load generator, alternating between the two accounts; publish time is taken just before the send, receipt in the client process, both on the machine's monotonic clock. The bare kafkajs consumer (its own process) reads every record of the topic in the same window.`,
      `RSS of the gateway pid from /proc/PID/status, read after ${settleMs / 1000} s of quiet and full collections (HeapProfiler.collectGarbage through the inspector the gateway opens on loopback for this scenario) until two readings in a row are within 1 MiB. Baseline: once ${warmPerProcess * processesPerTransport} warm-up subscriptions of each transport are open (the first of a process load code and grow buffers every later one shares). The other ${measured} of each transport join in ${rounds} rounds of ${perRound * processesPerTransport}, SSE first in odd rounds and graphql-ws first in even ones, RSS read after each chunk; the growth column is the sum of a transport's chunks (on the baseline row: from the baseline to the last reading), growth per subscription its median chunk over the chunk's size. JS heap + external: process.memoryUsage() heapUsed + external in the gateway (through the same inspector) at the same moments, the same way; steadier than RSS, which also counts pages the allocator has not handed back.`,
      `Gateway RSS readings (MiB; JS heap + external in parentheses), in order: ${readings.join(', ')}.`,
      `Deliveries expected: ${groups.map((g) => `${g.label} ${(perGroup.get(g) ?? 0) * perTransport}`).join(', ')}, bare consumer ${records}; a shortfall is what had not arrived 30 s after the last record.`,
      `Gateway CPU over the delivery window: ${round(gatewayCpu)}% of a core; ${records} records published; machine load average (1 min) after it: ${loadAverage}.`,
      'Deliveries pool every subscription\'s delay of every record of its transport; "last subscriber of a record" is the delay until every subscription of the transport had it.',
    ],
  };
}

/**
 * The transports of issue 23 side by side on one gateway: GraphQL over SSE and graphql-ws, the same number of
 * subscriptions each, the gateway's resident memory per subscription and publish -> receipt delivery latency for both
 * in the same run, beside a bare kafkajs consumer of the same records, with the target ratio SSE / graphql-ws.
 */
export const transports: Scenario = {
  name: 'transports',
  title: 'transports: GraphQL over SSE beside graphql-ws, memory per subscription and delivery latency',
  run,
};
