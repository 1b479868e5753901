import { loadavg } from 'node:os';
import { forkBenchChild } from '../lib/bench-child.js';
import { pollUntil, sleep } from '../lib/environment.js';
import { openAccounts, orderVariables, PLACE_ORDER } from '../lib/http-client.js';
import { connectionCount, pidListeningOn } from '../lib/listeners.js';
import { openLoop } from '../lib/load.js';
import { processMeter } from '../lib/proc.js';
import type { Cell, ResultTable } from '../lib/results.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { startScenarioGateway } from '../lib/scenario-gateway.js';
import { openSecondTopic, SECOND_FIELD, SECOND_READ_SCOPE } from '../lib/second-topic.js';
import { ratio, round, summarize } from '../lib/stats.js';
import type { SwarmRequest, SwarmStatus } from '../lib/subscriber-swarm.js';
import { delayTracker, wsClient } from '../lib/subscribers.js';
import { ORDER_FIELD, subscribeField, type TopicField } from '../lib/topic-fields.js';

/** Starts the swarm process and gives a typed request/answer channel to it. */
async function startSwarm(setup: Record<string, unknown>) {
  const child = await forkBenchChild<SwarmRequest, SwarmStatus>('bench/lib/subscriber-swarm.ts', 'SWARM_SETUP', setup, { type: 'close' });
  return {
    pid: child.pid,
    open: (count: number, since?: string) => child.send({ type: 'open', count, ...(since && { since }) }),
    status: () => child.ask({ type: 'status' }),
    close: () => child.close(),
  };
}

/** The engine issue's subscribe -> ready target holds while this many subscriptions join per second. */
const JOINS_PER_SECOND = 100;
/** Records per second published to each topic while delivery latency is measured. */
const PUBLISH_RATE = 100;

/** Percent of one core a process used over `ms` of idleness. */
async function idleCpuPercent(meters: { cpuMs(): number }[], ms: number): Promise<number[]> {
  const before = meters.map((m) => m.cpuMs());
  await sleep(ms);
  return meters.map((m, i) => ((m.cpuMs() - (before[i] ?? 0)) / ms) * 100);
}

interface RampOptions {
  /** 1: every subscription on orderSettled; 2: half on orderSettled, half on the bench's second declared field. */
  topics: 1 | 2;
  steps: readonly number[];
  slackMs: number;
  idleMs: number;
  latencySeconds: number;
}

interface RampResult {
  rows: Record<string, Cell>[];
  latencyRows: Record<string, Cell>[];
  stoppedAt: string | null;
  brokerPid: number | null;
}

/** A field of the ramp: how to publish one record of it for an account, and its broadcast and keyed probes. */
interface RampField {
  spec: TopicField;
  /** Resolves with the record's id once it is committed (placeOrder answered) or acknowledged (the producer). */
  publish(accountId: string): Promise<string>;
  broadcast: ReturnType<typeof delayTracker>;
  keyed: ReturnType<typeof delayTracker>;
}

const topicsLabel = (topics: 1 | 2) => (topics === 1 ? '1 topic' : '2 topics');

/**
 * One ramp on a gateway of its own: N graphql-ws subscriptions opened from a separate process (a tenth durable), in
 * steps, stopping at the first step that fails or exceeds its time bound. Per step: subscribe -> ready (first event),
 * gateway RSS growth per subscription, gateway and broker CPU while idle, the gateway's connections to the broker, and
 * publish -> event of a broadcast (unfiltered) and a keyed (filter on the key) subscription per field at 100/s a topic.
 */
async function ramp(context: ScenarioContext, options: RampOptions): Promise<RampResult> {
  const { progress, defer } = context;
  const name = `subscriber-scale-${options.topics}t`;
  const boundFor = (joins: number) => options.slackMs + (joins / JOINS_PER_SECOND) * 1000;
  const second = options.topics === 2 ? await openSecondTopic(context, name) : null;
  const {
    server: gateway,
    brokers,
    token,
    client,
  } = await startScenarioGateway(context, {
    name,
    // One caller opens them all: a benchmark measures the engine, not the per-caller limit.
    env: { SUBSCRIPTIONS_PER_CALLER: '0', ...second?.env },
    readScopes: second ? [SECOND_READ_SCOPE] : [],
  });
  const [quiet, hot] = (await openAccounts(client, 'acc', 2)) as [string, string];
  const brokerPort = Number(brokers.split(',')[0]?.split(':')[1] ?? 9092);
  const brokerPid = pidListeningOn(brokerPort);
  const broker = brokerPid ? processMeter(brokerPid) : null;
  const meters = broker ? [gateway, broker] : [gateway];

  let sequence = 0;
  const placeOrder = async (accountId: string) =>
    (await client.call<{ placeOrder: { id: string } }>(PLACE_ORDER, orderVariables(accountId, `s-${sequence++}`))).placeOrder.id;
  const fields: RampField[] = [
    { spec: ORDER_FIELD, publish: placeOrder, broadcast: delayTracker(), keyed: delayTracker() },
    ...(second ? [{ spec: SECOND_FIELD, publish: second.publish, broadcast: delayTracker(), keyed: delayTracker() }] : []),
  ];
  const ws = wsClient(gateway.url, token);
  defer(async () => ws.dispose());
  for (const field of fields) {
    const stopBroadcast = subscribeField(ws, field.spec, {}, (id) => field.broadcast.arrived(id));
    const stopKeyed = subscribeField(ws, field.spec, { filter: { accountId: hot } }, (id) => field.keyed.arrived(id));
    defer(async () => {
      stopBroadcast();
      stopKeyed();
    });
  }
  const publishHot = async (field: RampField) => {
    const id = await field.publish(hot);
    field.broadcast.responded(id);
    field.keyed.responded(id);
  };
  const probes = fields.flatMap((f) => [f.broadcast, f.keyed]);
  const live = await pollUntil(
    async () => {
      await Promise.all(fields.map(publishHot));
      return probes.every((probe) => probe.count > 0);
    },
    60_000,
    100,
  );
  if (!live) throw new Error(`${name}: a latency probe saw no event within 60 s`);

  const connections = () => connectionCount(gateway.pid, brokerPort);
  const [baseGatewayCpu = 0, baseBrokerCpu = Number.NaN] = await idleCpuPercent(meters, options.idleMs);
  const baseRss = gateway.rssBytes();
  const swarm = await startSwarm({
    url: gateway.url,
    token,
    accountId: quiet,
    perConnection: 1,
    perSecond: JOINS_PER_SECOND,
    fields: fields.map((f) => f.spec),
  });
  defer(() => swarm.close());

  const topics = topicsLabel(options.topics);
  const rows: Record<string, Cell>[] = [
    {
      topics,
      target: 0,
      status: 'baseline',
      rssMib: round(baseRss / 2 ** 20),
      gatewayIdle: round(baseGatewayCpu),
      brokerIdle: round(baseBrokerCpu),
      connections: connections(),
    },
  ];
  const latencyRows: Record<string, Cell>[] = [];
  const publishQuiet = () => Promise.all(fields.map((f) => f.publish(quiet)));
  let stoppedAt: string | null = null;
  let opened = 0;
  for (const target of options.steps) {
    const label = `${name}: ${target} subscriptions`;
    // Each step's subscriptions start `since` just before one record per field on the quiet account: ready = it arrived.
    const since = new Date(Date.now() - 1).toISOString();
    await publishQuiet();
    const boundMs = boundFor(target - opened);
    swarm.open(target - opened, since);
    opened = target;
    const started = Date.now();
    let status = await swarm.status();
    // More records on the quiet account only if some subscription still has none.
    while (status.ready < target && status.errors === 0 && Date.now() - started < boundMs) {
      await sleep(250);
      if (Date.now() - started > boundMs - options.slackMs / 2) await publishQuiet();
      status = await swarm.status();
      progress.update(`${label}: ${status.ready} ready, ${status.errors} errors, ${Math.round((Date.now() - started) / 1000)}s`);
    }
    const readiness = summarize(status.readyLatencies);
    if (status.ready < target || status.errors > 0) {
      stoppedAt = `${target}: ${status.ready} of ${status.open} ready, ${status.errors} errors after ${Math.round((Date.now() - started) / 1000)} s`;
      rows.push({ topics, target, status: 'gave out', ready: status.ready, errors: status.errors, readyP50: round(readiness.p50) });
      break;
    }
    progress.update(`${label}: idle CPU`);
    const [gatewayIdle = 0, brokerIdle = Number.NaN] = await idleCpuPercent(meters, options.idleMs);
    const rss = gateway.rssBytes();
    const brokerConnections = connections();
    for (const probe of probes) probe.reset();
    const loads = await Promise.all(
      fields.map((field) =>
        openLoop(
          PUBLISH_RATE,
          options.latencySeconds,
          () => publishHot(field),
          () => progress.update(`${label}: publish -> event at ${PUBLISH_RATE}/s per topic`),
        ),
      ),
    );
    const expected = (i: number) => loads[i]?.latencies.length ?? 0;
    await pollUntil(() => fields.every((f, i) => f.broadcast.count >= expected(i) && f.keyed.count >= expected(i)), 10_000);
    // On a shared machine a latency figure is read beside the load it was taken under.
    const load = round(loadavg()[0] ?? Number.NaN);
    fields.forEach((field, i) => {
      const broadcast = summarize(field.broadcast.delays());
      const keyed = summarize(field.keyed.delays());
      latencyRows.push({
        topics,
        target,
        field: field.spec.field,
        published: loads[i]?.latencies.length ?? 0,
        load,
        broadcastP50: round(broadcast.p50),
        broadcastP99: round(broadcast.p99),
        keyedP50: round(keyed.p50),
        keyedP99: round(keyed.p99),
      });
    });
    rows.push({
      topics,
      target,
      status: 'ok',
      ready: status.ready,
      errors: status.errors,
      readyP50: round(readiness.p50),
      readyP99: round(readiness.p99),
      rssMib: round(rss / 2 ** 20),
      perSubKib: round((rss - baseRss) / 1024 / target),
      gatewayIdle: round(gatewayIdle),
      brokerIdle: round(brokerIdle),
      connections: brokerConnections,
    });
  }
  // The next ramp starts on a quiet machine: this one's gateway and swarm go now (the deferred steps allow a second call).
  await swarm.close();
  await ws.dispose();
  await gateway.stop();
  return { rows, latencyRows, stoppedAt, brokerPid };
}

/** The rows of both ramps, step by step: the single-topic row, then the two-topic row(s) of the same step. */
function sideBySide(one: Record<string, Cell>[], two: Record<string, Cell>[]): Record<string, Cell>[] {
  const targets = [...new Set([...one, ...two].map((row) => Number(row.target)))].sort((a, b) => a - b);
  return targets.flatMap((target) => [...one, ...two].filter((row) => Number(row.target) === target));
}

/** Two topics over one at the largest step both ramps completed: latency ratios of orderSettled, connection difference. */
function comparisonRow(one: RampResult, two: RampResult): Record<string, Cell> | null {
  const completed = (result: RampResult) => new Set(result.rows.filter((r) => r.status === 'ok').map((r) => Number(r.target)));
  const inOne = completed(one);
  const target = Math.max(...[...completed(two)].filter((t) => inOne.has(t)));
  if (!Number.isFinite(target)) return null;
  const latency = (result: RampResult) => result.latencyRows.find((r) => r.target === target && r.field === ORDER_FIELD.field) ?? {};
  const row = (result: RampResult) => result.rows.find((r) => r.target === target && r.status === 'ok') ?? {};
  const [a, b] = [latency(one), latency(two)];
  const over = (key: string) => round(ratio(Number(b[key]), Number(a[key])));
  const [rowOne, rowTwo] = [row(one), row(two)];
  return {
    what: `orderSettled at ${target} subscriptions`,
    broadcastP50: over('broadcastP50'),
    broadcastP99: over('broadcastP99'),
    keyedP50: over('keyedP50'),
    keyedP99: over('keyedP99'),
    perSubKib: round(ratio(Number(rowTwo.perSubKib), Number(rowOne.perSubKib))),
    connections: Number(rowTwo.connections) - Number(rowOne.connections),
  };
}

/**
 * The subscriber ramp, twice in one run: every subscription on orderSettled, then the same ramp on a fresh gateway
 * whose subscriptions are spread half and half over orderSettled and a second declared topic (the bench's own SDL
 * and topic, fed by a plain kafkajs producer). Subscriptions join at 100/s, the rate of the engine issue's
 * subscribe -> ready target.
 */
export const subscriberScale: Scenario = {
  name: 'subscriber-scale',
  title: 'subscriber scale: the ramp until the engine gives out, on one topic and spread over two',
  async run(context) {
    const { quick } = context;
    const options = {
      steps: quick ? [100, 200] : [1000, 2000, 5000, 10_000],
      // Past the time the joins take at the paced rate; a step that needs longer has given out.
      slackMs: quick ? 20_000 : 30_000,
      idleMs: quick ? 2000 : 3000,
      // 1,000 samples per probe in a full run: 500 left a p99 at the mercy of one stall on a shared machine.
      latencySeconds: quick ? 3 : 10,
    };
    const one = await ramp(context, { ...options, topics: 1 });
    const two = await ramp(context, { ...options, topics: 2 });
    const slack = options.slackMs / 1000;
    const table: ResultTable = {
      title: `graphql-ws subscriptions from a separate process, one websocket each, joining at ${JOINS_PER_SECOND}/s, a tenth durable; on one topic, then half and half over two; a step's bound is ${slack} s past its joins`,
      columns: [
        { key: 'topics', label: 'topics' },
        { key: 'status', label: 'step' },
        { key: 'target', label: 'subscriptions', unit: 'subscriptions' },
        { key: 'ready', label: 'ready', unit: 'subscriptions' },
        { key: 'errors', label: 'errors', unit: 'subscriptions' },
        { key: 'readyP50', label: 'subscribe -> ready p50', unit: 'ms' },
        { key: 'readyP99', label: 'subscribe -> ready p99', unit: 'ms' },
        { key: 'rssMib', label: 'gateway RSS', unit: 'MiB' },
        { key: 'perSubKib', label: 'RSS growth per subscription', unit: 'KiB' },
        { key: 'gatewayIdle', label: 'gateway idle CPU', unit: '% of a core' },
        { key: 'brokerIdle', label: 'broker idle CPU', unit: '% of a core' },
        { key: 'connections', label: 'gateway connections to the broker', unit: 'connections' },
      ],
      rows: sideBySide(one.rows, two.rows),
    };
    const latencyTable: ResultTable = {
      title: `publish -> event at ${PUBLISH_RATE}/s per topic for ${options.latencySeconds} s, while the ramp's subscriptions stay open: one unfiltered (broadcast) and one filtered on the key (keyed) subscription per field`,
      columns: [
        { key: 'topics', label: 'topics' },
        { key: 'field', label: 'field' },
        { key: 'target', label: 'subscriptions', unit: 'subscriptions' },
        { key: 'published', label: 'published', unit: 'records' },
        { key: 'load', label: 'machine load after', unit: 'load average (1 min)' },
        { key: 'broadcastP50', label: 'broadcast p50', unit: 'ms' },
        { key: 'broadcastP99', label: 'broadcast p99', unit: 'ms' },
        { key: 'keyedP50', label: 'keyed p50', unit: 'ms' },
        { key: 'keyedP99', label: 'keyed p99', unit: 'ms' },
      ],
      rows: sideBySide(one.latencyRows, two.latencyRows),
    };
    const comparison = comparisonRow(one, two);
    const comparisonTable: ResultTable = {
      title: 'two topics over one, at the largest step both ramps completed',
      columns: [
        { key: 'what', label: 'what' },
        { key: 'broadcastP50', label: 'broadcast p50 ratio', unit: 'x' },
        { key: 'broadcastP99', label: 'broadcast p99 ratio', unit: 'x' },
        { key: 'keyedP50', label: 'keyed p50 ratio', unit: 'x' },
        { key: 'keyedP99', label: 'keyed p99 ratio', unit: 'x' },
        { key: 'perSubKib', label: 'RSS growth per subscription ratio', unit: 'x' },
        { key: 'connections', label: 'more broker connections', unit: 'connections' },
      ],
      rows: comparison ? [comparison] : [],
    };
    const stopped = (label: string, result: RampResult) =>
      result.stoppedAt ? `The ${label} ramp stopped at ${result.stoppedAt}.` : `The ${label} ramp completed every step.`;
    return {
      tables: [table, latencyTable, comparisonTable],
      notes: [
        'Each ramp has a gateway of its own (the built one), started fresh; the two-topic gateway loads bench/lib/second-topic.graphql through SCHEMA_PATHS and the bench creates and deletes its topic. The ramps run one after the other.',
        'Ready: subscribe -> the first event, a record placed on the quiet account (an order, and a reading on the second topic) just after the `since` each subscription starts at.',
        `Latency is measured by two more subscriptions per field in the load generator, on another account, while the ramp's subscriptions stay open; orderSettled from the placeOrder response, the second field (${SECOND_FIELD.field}) from the producer's acknowledgement (acks all), a plain kafkajs producer of CloudEvents. In the two-topic ramp both topics get ${PUBLISH_RATE}/s at once.`,
        'Broker connections: established TCP connections of the gateway pid (worker threads included) to the broker port, from ss, after the idle measurement.',
        stopped('one-topic', one),
        stopped('two-topic', two),
        one.brokerPid
          ? `Broker CPU from /proc of pid ${one.brokerPid} (the broker is shared with other work on this machine).`
          : 'No broker pid found: broker CPU not measured.',
      ],
    };
  },
};
