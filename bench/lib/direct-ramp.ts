import { randomUUID } from 'node:crypto';
import type { Admin } from 'kafkajs';
import { type AccountPublisher, orderRecord, startAccountPublisher } from './account-publisher.js';
import { type BenchChild, forkBenchChild } from './bench-child.js';
import { commitSampler, offsetsTopicEnd } from './commit-sampler.js';
import type { DirectConsumersRequest, DirectConsumersStatus } from './direct-consumers.js';
import { kafkaClient, pollUntil, removeKafkaResources, sleep, uniqueName } from './environment.js';
import { type ProcessMeter, processMeter } from './proc.js';
import type { Cell } from './results.js';
import type { ScenarioContext } from './scenario.js';
import { round, summarize } from './stats.js';

type Clients = BenchChild<DirectConsumersRequest, DirectConsumersStatus>;

export interface DirectRampOptions {
  steps: readonly number[];
  /** Consumers per client process, at most. */
  perProcess: number;
  /** Consumers started per second in each process. */
  perSecond: number;
  /** Clients per account: the topic gets one record a second per account, as in the gateway's rows. */
  perAccount: number;
  /** A step whose consumers are not all joined this long after the last one started has given out. */
  joinBoundMs: number;
  settleMs: number;
  windowSeconds: number;
  sampledGroups: number;
  partitions: number;
  broker: ProcessMeter | null;
}

export interface DirectRampResult {
  rows: Record<string, Cell>[];
  stoppedAt: string | null;
}

async function statusOf(processes: readonly Clients[]): Promise<DirectConsumersStatus> {
  const all = await Promise.all(processes.map((p) => p.ask({ type: 'status' })));
  return {
    type: 'status',
    open: all.reduce((n, s) => n + s.open, 0),
    joined: all.reduce((n, s) => n + s.joined, 0),
    errors: all.reduce((n, s) => n + s.errors, 0),
    firstError: all.find((s) => s.firstError !== null)?.firstError ?? null,
    received: all.reduce((n, s) => n + s.received, 0),
    joinLatencies: all.flatMap((s) => s.joinLatencies),
  };
}

/**
 * The alternative the issue names, ramped: at each step more kafkajs consumers, each a client with a consumer group of
 * its own straight to Kafka, on a topic of the bench's own that gets one record a second per `perAccount` clients;
 * until a step fails or its joins take longer than the bound. Per step: join time, commits, broker and client CPU.
 */
export async function directRamp(context: ScenarioContext, options: DirectRampOptions): Promise<DirectRampResult> {
  const { progress, defer, brokers } = context;
  const topic = uniqueName('bench-durable-direct').replaceAll('_', '-');
  const groupPrefix = uniqueName('bench-direct').replaceAll('_', '-');
  const kafka = kafkaClient(brokers);
  const admin: Admin = kafka.admin();
  await admin.connect();
  defer(() => admin.disconnect());
  defer(() => removeKafkaResources(brokers, [topic], `${groupPrefix}.`));
  await admin.createTopics({ topics: [{ topic, numPartitions: options.partitions }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  defer(() => producer.disconnect());
  const accountPrefix = `dd-${randomUUID().slice(0, 8)}`;
  const ready = await pollUntil(
    () =>
      producer.send({ topic, acks: -1, messages: [orderRecord(`${accountPrefix}-warm-up`)] }).then(
        () => true,
        () => false,
      ),
    30_000,
    250,
  );
  if (!ready) throw new Error(`direct consumers: the topic ${topic} took no record within 30 s`);

  const processes: Clients[] = [];
  const meters: ProcessMeter[] = [];
  const counts: number[] = [];
  let publisher: AccountPublisher | null = null;
  defer(async () => publisher?.stop());
  const rows: Record<string, Cell>[] = [];
  let stoppedAt: string | null = null;
  let opened = 0;
  for (const target of options.steps) {
    const label = `direct consumers: ${target}`;
    await publisher?.stop();
    const accounts = Array.from({ length: Math.ceil(target / options.perAccount) }, (_, i) => `${accountPrefix}-${i}`);
    publisher = startAccountPublisher(producer, topic, accounts);
    // Fill the processes in order, a new one when the last is full; each starts its share at its own pace.
    const started = Date.now();
    let longest = 0;
    while (opened < target) {
      let index = counts.findIndex((n) => n < options.perProcess);
      if (index < 0) {
        const child = await forkBenchChild<DirectConsumersRequest, DirectConsumersStatus>(
          'bench/lib/direct-consumers.ts',
          'DIRECT_CONSUMERS_SETUP',
          { brokers, topic, groupPrefix, perSecond: options.perSecond },
          { type: 'close' },
        );
        defer(() => child.close());
        processes.push(child);
        meters.push(processMeter(child.pid));
        counts.push(0);
        index = processes.length - 1;
      }
      const count = Math.min(target - opened, options.perProcess - (counts[index] ?? 0));
      processes[index]?.send({ type: 'open', from: opened, count });
      counts[index] = (counts[index] ?? 0) + count;
      opened += count;
      longest = Math.max(longest, count);
    }
    const boundMs = (longest / options.perSecond) * 1000 + options.joinBoundMs;
    let status = await statusOf(processes);
    while (status.joined < target && status.errors === 0 && Date.now() - started < boundMs) {
      await sleep(500);
      status = await statusOf(processes);
      progress.update(`${label}: ${status.joined} joined, ${status.errors} errors, ${Math.round((Date.now() - started) / 1000)}s`);
    }
    const joinSeconds = (Date.now() - started) / 1000;
    const joins = summarize(status.joinLatencies);
    if (status.joined < target || status.errors > 0) {
      stoppedAt = `${target}: ${status.joined} of ${status.open} joined, ${status.errors} errors after ${Math.round(joinSeconds)} s (first: ${status.firstError})`;
      rows.push({
        what: 'kafkajs consumer per client',
        clients: target,
        status: 'gave out',
        joinSeconds: round(joinSeconds),
        joinP50: round(joins.p50 / 1000),
        joinP99: round(joins.p99 / 1000),
      });
      break;
    }
    progress.update(`${label}: settling`);
    await sleep(options.settleMs);
    const sampled = [...Array(target).keys()]
      .sort(() => Math.random() - 0.5)
      .slice(0, options.sampledGroups)
      .map((i) => `${groupPrefix}.direct-${i}`);
    const sampler = commitSampler(admin, topic, sampled);
    await sampler.sample();
    sampler.reset();
    const offsetsBefore = await offsetsTopicEnd(admin);
    const brokerBefore = options.broker?.cpuMs() ?? Number.NaN;
    const clientsBefore = meters.reduce((sum, m) => sum + m.cpuMs(), 0);
    const receivedBefore = status.received;
    const t0 = performance.now();
    for (let second = 1; second <= options.windowSeconds; second++) {
      await sleep(Math.max(0, t0 + second * 1000 - performance.now()));
      await sampler.sample();
      progress.update(`${label}: measuring, ${second} of ${options.windowSeconds} s`);
    }
    const windowMs = performance.now() - t0;
    const seconds = windowMs / 1000;
    const brokerCpu = options.broker ? ((options.broker.cpuMs() - brokerBefore) / windowMs) * 100 : Number.NaN;
    const clientCpu = ((meters.reduce((sum, m) => sum + m.cpuMs(), 0) - clientsBefore) / windowMs) * 100;
    const appended = (await offsetsTopicEnd(admin)) - offsetsBefore;
    const end = await statusOf(processes);
    const samples = sampler.results();
    const ages = summarize(samples.ages);
    const perGroup = samples.commits / sampled.length / seconds;
    rows.push({
      what: 'kafkajs consumer per client',
      clients: target,
      status: 'ok',
      joinSeconds: round(joinSeconds),
      joinP50: round(joins.p50 / 1000),
      joinP99: round(joins.p99 / 1000),
      records: round((end.received - receivedBefore) / target / seconds),
      offsetRecords: round(appended / seconds),
      sampledPerSecond: round(perGroup * target),
      brokerCpu: round(brokerCpu),
      processCpu: round(clientCpu),
      ageP50: round(ages.p50 / 1000),
      ageP99: round(ages.p99 / 1000),
      ageMax: round(ages.max / 1000),
    });
  }
  await publisher?.stop();
  for (const child of processes) await child.close();
  // A group is deleted only once its member's session ended: a consumer killed mid-close leaves it for a while.
  progress.update('direct consumers: deleting their groups');
  const ours = async () => (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${groupPrefix}.`));
  const gone = await pollUntil(
    async () => {
      const left = await ours();
      if (left.length > 0) await admin.deleteGroups(left).catch(() => {});
      return (await ours()).length === 0;
    },
    60_000,
    2000,
  );
  if (!gone) throw new Error(`direct consumers: ${(await ours()).length} groups under ${groupPrefix}. still there after 60 s`);
  return { rows, stoppedAt };
}
