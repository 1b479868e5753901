import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import type { Admin } from 'kafkajs';
import { orderRecord, startAccountPublisher } from '../lib/account-publisher.js';
import { type BenchChild, forkBenchChild } from '../lib/bench-child.js';
import { sumClientCounts } from '../lib/client-counts.js';
import { commitSampler, offsetsTopicEnd } from '../lib/commit-sampler.js';
import { type DirectRampOptions, directRamp } from '../lib/direct-ramp.js';
import { accountOf, subscriberIdOf } from '../lib/durable-names.js';
import type { DurableSwarmRequest, DurableSwarmStatus } from '../lib/durable-swarm.js';
import { kafkaClient, pollUntil, sleep } from '../lib/environment.js';
import { pidListeningOn } from '../lib/listeners.js';
import { processMeter } from '../lib/proc.js';
import type { Cell, ResultTable } from '../lib/results.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { startScenarioGateway } from '../lib/scenario-gateway.js';
import { round, summarize } from '../lib/stats.js';

/** The issue's targets: the broker under this share of a core, and no committed offset older than this. */
const BROKER_TARGET_PERCENT = 30;
const AGE_TARGET_MS = 5000;
/** The direct ramp starts once the broker uses less than this share of a core over 2 s (or after 30 s). */
const QUIET_BROKER_PERCENT = 15;
/** The gateway's topic's partitions (ORDERS_TOPIC_PARTITIONS' default); the direct consumers' topic gets as many. */
const PARTITIONS = 6;
/** The gateway's default OFFSETS_COMMITS_PER_SECOND (src/config.ts), set explicitly so the shell cannot change it. */
const DEFAULT_BUDGET = 2000;

/**
 * The issue's two rows, and the default budget with a fifth of the subscriptions: where a gateway on this machine
 * still keeps up with every group's commits.
 */
const COMMIT_SETTINGS: readonly CommitSettings[] = [{ budget: DEFAULT_BUDGET }, { budget: 0 }, { budget: DEFAULT_BUDGET, share: 0.2 }];

type Swarm = BenchChild<DurableSwarmRequest, DurableSwarmStatus>;

interface Sizes {
  subscriptions: number;
  /** Subscriptions filtering on one account: each account gets one record a second, so each subscription ~1 event/s. */
  perAccount: number;
  processes: number;
  perConnection: number;
  /** Joins per second in each swarm process. */
  joinsPerSecond: number;
  settleMs: number;
  windowSeconds: number;
  sampledGroups: number;
  /** The kafkajs-consumer-per-client ramp beside the gateway. */
  direct: Omit<DirectRampOptions, 'broker' | 'partitions'>;
}

async function swarmStatus(swarms: readonly Swarm[]): Promise<DurableSwarmStatus> {
  const all = await Promise.all(swarms.map((s) => s.ask({ type: 'status' })));
  return { type: 'status', ...sumClientCounts(all) };
}

/** `count` distinct indices below `n`, at random. */
function randomIndices(n: number, count: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [all[i], all[j]] = [all[j] as number, all[i] as number];
  }
  return all.slice(0, Math.min(n, count)).sort((a, b) => a - b);
}

/**
 * One gateway of its own with `budget` as OFFSETS_COMMITS_PER_SECOND (0: none): N durable subscriptions, each with a
 * group of its own and ~1 event/s, then a window in which commits, CPU and the age of committed offsets are read.
 */
interface CommitSettings {
  budget: number;
  /** Of the scenario's subscriptions, the share this row opens. @default 1 */
  share?: number;
}

async function measure(context: ScenarioContext, all: Sizes, settings: CommitSettings): Promise<Record<string, Cell>> {
  const { progress, defer } = context;
  const { budget, share = 1 } = settings;
  const sizes = { ...all, subscriptions: Math.round(all.subscriptions * share) };
  const label = budget === 0 ? 'none (0)' : budget === DEFAULT_BUDGET ? `${budget} (default)` : String(budget);
  const name = `durable-commits-${budget}-${sizes.subscriptions}`;
  const {
    server: gateway,
    brokers,
    topic,
    groupPrefix,
    token,
  } = await startScenarioGateway(context, {
    name,
    env: {
      SUBSCRIPTIONS_PER_CALLER: '0',
      OFFSETS_COMMITS_PER_SECOND: String(budget),
    },
  });
  const brokerPort = Number(brokers.split(',')[0]?.split(':')[1] ?? 9092);
  const brokerPid = pidListeningOn(brokerPort);
  const broker = brokerPid ? processMeter(brokerPid) : null;

  const kafka = kafkaClient(brokers);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  defer(() => producer.disconnect());
  const admin: Admin = kafka.admin();
  await admin.connect();
  defer(() => admin.disconnect());

  const run = randomUUID().slice(0, 8);
  const accountPrefix = `dc-${run}`;
  const subscriberPrefix = `dc-${run}`;
  const accountCount = Math.ceil(sizes.subscriptions / sizes.perAccount);
  const accounts = Array.from({ length: accountCount }, (_, i) => accountOf(accountPrefix, accountCount, i));
  progress.update(`${name}: waiting for the gateway to create its topic`);
  const created = await pollUntil(
    () =>
      producer.send({ topic, acks: -1, messages: [orderRecord(`${accountPrefix}-warm-up`)] }).then(
        () => true,
        () => false,
      ),
    60_000,
    500,
  );
  if (!created) throw new Error(`${name}: the gateway's topic ${topic} did not appear within 60 s`);
  const publisher = startAccountPublisher(producer, topic, accounts);
  defer(() => publisher.stop());

  const perProcess = Math.ceil(sizes.subscriptions / sizes.processes);
  const swarms: Swarm[] = [];
  for (let p = 0; p < sizes.processes; p++) {
    const swarm = await forkBenchChild<DurableSwarmRequest, DurableSwarmStatus>(
      'bench/lib/durable-swarm.ts',
      'DURABLE_SWARM_SETUP',
      {
        url: gateway.url,
        token,
        subscriberPrefix,
        accountPrefix,
        accounts: accountCount,
        perConnection: sizes.perConnection,
        perSecond: sizes.joinsPerSecond,
      },
      { type: 'close' },
    );
    defer(() => swarm.close());
    swarms.push(swarm);
  }
  const joinStarted = Date.now();
  swarms.forEach((swarm, p) => {
    const from = p * perProcess;
    swarm.send({ type: 'open', from, count: Math.max(0, Math.min(perProcess, sizes.subscriptions - from)) });
  });
  const boundMs = (perProcess / sizes.joinsPerSecond) * 1000 + 60_000;
  let status = await swarmStatus(swarms);
  while (status.ready < sizes.subscriptions && status.errors === 0 && Date.now() - joinStarted < boundMs) {
    await sleep(500);
    status = await swarmStatus(swarms);
    progress.update(`${name}: ${status.ready} of ${sizes.subscriptions} durable subscriptions ready, ${status.errors} errors`);
  }
  const joinSeconds = (Date.now() - joinStarted) / 1000;
  if (status.ready < sizes.subscriptions || status.errors > 0)
    throw new Error(
      `${name}: ${status.ready} of ${status.open} ready, ${status.errors} errors after ${Math.round(joinSeconds)} s (first: ${status.firstError})`,
    );

  // Past the joins: their start commits and the first intervals' backlog are not the steady state measured.
  progress.update(`${name}: settling`);
  await sleep(sizes.settleMs);
  const sampled = randomIndices(sizes.subscriptions, sizes.sampledGroups).map(
    (i) => `${groupPrefix}.bench.${subscriberIdOf(subscriberPrefix, i)}`,
  );
  const sampler = commitSampler(admin, topic, sampled);
  await sampler.sample();
  sampler.reset();

  const offsetsBefore = await offsetsTopicEnd(admin);
  const gatewayBefore = gateway.cpuMs();
  const mainBefore = gateway.mainThreadCpuMs();
  const brokerBefore = broker?.cpuMs() ?? Number.NaN;
  const receivedBefore = (await swarmStatus(swarms)).received;
  const publishedBefore = publisher.counts().published;
  const started = performance.now();
  for (let second = 1; second <= sizes.windowSeconds; second++) {
    await sleep(Math.max(0, started + second * 1000 - performance.now()));
    await sampler.sample();
    progress.update(`${name}: measuring, ${second} of ${sizes.windowSeconds} s`);
  }
  const windowMs = performance.now() - started;
  const gatewayCpu = ((gateway.cpuMs() - gatewayBefore) / windowMs) * 100;
  const mainThreadCpu = ((gateway.mainThreadCpuMs() - mainBefore) / windowMs) * 100;
  const brokerCpu = broker ? ((broker.cpuMs() - brokerBefore) / windowMs) * 100 : Number.NaN;
  const offsetsAfter = await offsetsTopicEnd(admin);
  const end = await swarmStatus(swarms);
  const publishedInWindow = publisher.counts().published - publishedBefore;
  const load = round(loadavg()[0] ?? Number.NaN);

  const samples = sampler.results();
  const seconds = windowMs / 1000;
  const ages = summarize(samples.ages);
  const partitions = samples.partitionsPerCommit || Number.NaN;
  const commitsPerSecond = (offsetsAfter - offsetsBefore) / partitions / seconds;
  const perGroup = samples.commits / sampled.length / seconds;
  const { errors: publishErrors, firstError } = publisher.counts();
  if (publishErrors > 0) throw new Error(`${name}: ${publishErrors} sends failed, the first: ${String(firstError)}`);

  // The next run starts on a quiet machine: this one's clients, publisher and gateway go now (the deferred steps allow a second call).
  await publisher.stop();
  await Promise.all(swarms.map((s) => s.close()));
  await gateway.stop();
  return {
    budget: label,
    subscriptions: sizes.subscriptions,
    joinSeconds: round(joinSeconds),
    eventsPerSub: round((end.received - receivedBefore) / sizes.subscriptions / seconds),
    published: round(publishedInWindow / seconds),
    commitsPerSecond: round(commitsPerSecond),
    offsetRecords: round((offsetsAfter - offsetsBefore) / seconds),
    sampledPerSecond: round(perGroup * sizes.subscriptions),
    perGroup: round(perGroup),
    brokerCpu: round(brokerCpu),
    gatewayCpu: round(gatewayCpu),
    mainThreadCpu: round(mainThreadCpu),
    ageP50: round(ages.p50 / 1000),
    ageP99: round(ages.p99 / 1000),
    ageMax: round(ages.max / 1000),
    load,
    verdict:
      brokerCpu < BROKER_TARGET_PERCENT && ages.max <= AGE_TARGET_MS
        ? 'met'
        : `missed (${[brokerCpu >= BROKER_TARGET_PERCENT ? 'broker CPU' : '', ages.max > AGE_TARGET_MS ? 'age' : ''].filter(Boolean).join(', ')})`,
    uncommitted: samples.uncommitted,
    groupSamples: samples.samples,
  };
}

async function run(context: ScenarioContext) {
  const sizes: Sizes = context.quick
    ? {
        subscriptions: 200,
        perAccount: 20,
        processes: 1,
        perConnection: 10,
        joinsPerSecond: 200,
        settleMs: 2000,
        windowSeconds: 6,
        sampledGroups: 100,
        direct: {
          steps: [25],
          perProcess: 800,
          perSecond: 100,
          perAccount: 20,
          joinBoundMs: 60_000,
          settleMs: 1000,
          windowSeconds: 3,
          sampledGroups: 25,
        },
      }
    : {
        subscriptions: 10_000,
        perAccount: 100,
        processes: 2,
        perConnection: 10,
        joinsPerSecond: 100,
        settleMs: 10_000,
        windowSeconds: 30,
        sampledGroups: 100,
        direct: {
          steps: [50, 100, 200, 400, 800, 1600, 3200, 6400],
          perProcess: 800,
          perSecond: 100,
          perAccount: 100,
          joinBoundMs: 60_000,
          settleMs: 5000,
          windowSeconds: 10,
          sampledGroups: 100,
        },
      };
  const rows: Record<string, Cell>[] = [];
  for (const settings of COMMIT_SETTINGS) rows.push(await measure(context, sizes, settings));
  const brokerPort = Number(context.brokers.split(',')[0]?.split(':')[1] ?? 9092);
  const brokerPid = pidListeningOn(brokerPort);
  const broker = brokerPid ? processMeter(brokerPid) : null;
  // The last gateway's final commits (one per group as its subscriptions close) still load the broker for a while.
  if (broker) {
    context.progress.update('durable-commits: waiting for the broker to go quiet');
    await pollUntil(
      async () => {
        const before = broker.cpuMs();
        await sleep(2000);
        return ((broker.cpuMs() - before) / 2000) * 100 < QUIET_BROKER_PERCENT;
      },
      30_000,
      0,
    );
  }
  const direct = await directRamp(context, { ...sizes.direct, partitions: PARTITIONS, broker });
  const table: ResultTable = {
    title: `${sizes.subscriptions} durable orderSettled subscriptions on one built gateway (and a fifth as many at the default budget), each its own consumer group and ~1 event/s, over ${sizes.windowSeconds} s; the issue's target: broker under ${BROKER_TARGET_PERCENT}% of a core, no committed offset older than ${AGE_TARGET_MS / 1000} s`,
    columns: [
      { key: 'budget', label: 'OFFSETS_COMMITS_PER_SECOND' },
      { key: 'subscriptions', label: 'durable subscriptions', unit: 'subscriptions' },
      { key: 'joinSeconds', label: 'all ready after', unit: 's' },
      { key: 'eventsPerSub', label: 'events per subscription', unit: 'events/s' },
      { key: 'published', label: 'records published', unit: 'records/s' },
      { key: 'commitsPerSecond', label: 'OffsetCommit (from __consumer_offsets)', unit: 'commits/s' },
      { key: 'sampledPerSecond', label: 'OffsetCommit (sampled groups x N)', unit: 'commits/s' },
      { key: 'perGroup', label: 'commits per group', unit: 'commits/s' },
      { key: 'brokerCpu', label: 'broker CPU', unit: '% of a core' },
      { key: 'gatewayCpu', label: 'gateway CPU', unit: '% of a core' },
      { key: 'mainThreadCpu', label: 'gateway main thread CPU', unit: '% of a core' },
      { key: 'ageP50', label: 'committed offset age p50', unit: 's' },
      { key: 'ageP99', label: 'committed offset age p99', unit: 's' },
      { key: 'ageMax', label: 'committed offset age max', unit: 's' },
      { key: 'load', label: 'machine load after', unit: 'load average (1 min)' },
      { key: 'verdict', label: 'target' },
    ],
    rows: rows.map(({ uncommitted: _u, groupSamples: _g, offsetRecords: _o, ...row }) => row),
  };
  const curves: ResultTable = {
    title: `both curves: the gateway's durable subscriptions (one process, a group each) beside one kafkajs consumer per client, each a group of its own straight to Kafka, ramped until a step fails or its joins take ${sizes.direct.joinBoundMs / 1000} s past their start`,
    columns: [
      { key: 'what', label: 'what' },
      { key: 'clients', label: 'clients', unit: 'subscriptions or consumers' },
      { key: 'status', label: 'step' },
      { key: 'joinSeconds', label: 'all ready / joined after', unit: 's' },
      { key: 'joinP50', label: 'consumer join p50', unit: 's' },
      { key: 'joinP99', label: 'consumer join p99', unit: 's' },
      { key: 'records', label: 'records per client', unit: 'records/s' },
      { key: 'offsetRecords', label: '__consumer_offsets appends', unit: 'records/s' },
      { key: 'sampledPerSecond', label: 'commits (sampled groups x N)', unit: 'commits/s' },
      { key: 'brokerCpu', label: 'broker CPU', unit: '% of a core' },
      { key: 'processCpu', label: 'gateway / client processes CPU', unit: '% of a core' },
      { key: 'ageP50', label: 'committed offset age p50', unit: 's' },
      { key: 'ageP99', label: 'committed offset age p99', unit: 's' },
      { key: 'ageMax', label: 'committed offset age max', unit: 's' },
    ],
    rows: [
      ...rows.map((row) => ({
        what: `gateway, OFFSETS_COMMITS_PER_SECOND ${row.budget}`,
        clients: row.subscriptions ?? null,
        status: 'ok',
        joinSeconds: row.joinSeconds ?? null,
        records: row.eventsPerSub ?? null,
        offsetRecords: row.offsetRecords ?? null,
        sampledPerSecond: row.sampledPerSecond ?? null,
        brokerCpu: row.brokerCpu ?? null,
        processCpu: row.gatewayCpu ?? null,
        ageP50: row.ageP50 ?? null,
        ageP99: row.ageP99 ?? null,
        ageMax: row.ageMax ?? null,
      })),
      ...direct.rows,
    ],
  };
  return {
    tables: [table, curves],
    notes: [
      `Each row has a gateway of its own (node dist/main.js, OFFSETS_COMMIT_INTERVAL_MS at its default 1000), started fresh, the rows one after the other. The subscriptions run in ${sizes.processes} client process(es) of their own, ${sizes.perConnection} per websocket, each with a subscriberId of its own (group <prefix>.bench.<subscriberId>) and filtered on one of ${Math.ceil(sizes.subscriptions / sizes.perAccount)} accounts (${sizes.perAccount} subscriptions per account), joining at ${sizes.joinsPerSecond}/s per process; all ready = each has had its first event.`,
      `Records: orderSettled CloudEvents appended straight to the gateway's topic by a kafkajs producer (acks all) in the load generator, one per account per second (a tenth of the accounts every 100 ms), keyed by account. A durable group's position moves past records its filter skips too, so every group has new offsets to commit every interval.`,
      `The window starts ${sizes.settleMs / 1000} s after all are ready. OffsetCommit/s from __consumer_offsets: the growth of its high watermarks over the window (one record per partition committed) over the partitions in one commit (as many as a sampled group's commit holds); it counts every committer of the broker, so another client committing at the same time inflates it. Sampled: ${sizes.sampledGroups} groups chosen at random, their committed offsets fetched (admin OffsetFetch) once a second; a commit = the commit time the gateway stamps into each commit's metadata changed between two samples (two commits between samples count as one, so this one can only undercount), times N over the sampled groups.`,
      `Age of a committed offset: at each sample, the sample time minus the time stamped in the group's last commit (${rows.map((r) => `${r.budget}: ${r.groupSamples} group-samples, ${r.uncommitted} without a commit yet`).join('; ')}). With the budget, each group's turn comes every N / budget intervals; without it every group is due every interval, 32 commits in flight at once (each durable commit first reads the group's offsets, OffsetFetch, to notice an operator's reset).`,
      brokerPid
        ? `Broker and gateway CPU over the window from /proc (broker pid ${brokerPid}; the broker is shared with other work on this machine, and its CPU includes the bench's own sampling and the producer's ${Math.ceil(sizes.subscriptions / sizes.perAccount)} records/s).`
        : 'No broker pid found: broker CPU not measured.',
      `Direct consumers: kafkajs ${'2.2.4'} consumers (eachBatch, default session and heartbeat settings, autoCommit on), each with a Kafka client and a group of its own (<prefix>.direct-<i>), up to ${sizes.direct.perProcess} per client process, started at ${sizes.direct.perSecond}/s per process, on a topic of the bench's own (${PARTITIONS} partitions, as the gateway's) that gets one record a second per ${sizes.direct.perAccount} clients; each reads every record (Kafka cannot filter for it), so "records per client" is what it fetches, not what it keeps. The ramp starts once the broker uses under ${QUIET_BROKER_PERCENT}% of a core over 2 s (at most 30 s after the last gateway stopped). Join: consumer start -> its first GROUP_JOIN. Their commits carry no stamp: a commit is a sampled group's offsets changing between two samples, its age counted from that sample (1 s resolution). Process CPU: every client process together.`,
      direct.stoppedAt ? `The direct ramp stopped at ${direct.stoppedAt}.` : 'The direct ramp completed every step.',
    ],
  };
}

/**
 * Issue 24, item 5: many durable subscriptions, each on a consumer group of its own and receiving about one event a
 * second, on one gateway: the OffsetCommit rate it sends, broker and gateway CPU, and how old committed offsets get,
 * with the default commit budget and without one, side by side.
 */
export const durableCommits: Scenario = {
  name: 'durable-commits',
  title: 'durable commits at scale: durable subscriptions each on a group of its own, with and without a commit budget',
  run,
};
