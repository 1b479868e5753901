import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafkaWire } from '../../src/adapters/kafka/kafka-wire.js';
import type { LogClient } from '../../src/streaming/log-client.js';
import { createStreamEngine, type TopicStreams } from '../../src/streaming/stream-engine.js';
import { cleanupList } from '../support/cleanup.js';
import { describeGroupOffsets } from '../support/kafka-tools.js';
import { createTestTopic, testKafka, testKafkaBrokers, uniqueName, waitFor } from '../support/resources.js';

const cleanups = cleanupList();
afterAll(() => cleanups.run());

/** The real wire, counting the live reads (`tail` fetches) of each topic. */
function countingWire() {
  const wire = createKafkaWire(testKafka());
  const tails = new Map<string, number>();
  const log: LogClient = {
    ...wire,
    tail: (topic, ...rest) => {
      tails.set(topic, (tails.get(topic) ?? 0) + 1);
      return wire.tail(topic, ...rest);
    },
  };
  return { log, tailsOf: (topic: string) => tails.get(topic) ?? 0 };
}

async function produce(topic: string, values: string[]): Promise<void> {
  const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ value })) });
  await producer.disconnect();
}

/** Reads one subscription until `count` values, then ends it. */
async function take(streams: TopicStreams<string>, groupId: string, count: number, ready: () => void = () => {}) {
  const cancel = new AbortController();
  const values: string[] = [];
  for await (const { item } of streams.subscribe({
    groupId,
    kind: 'durable',
    start: { kind: 'COMMITTED' },
    accept: () => true,
    signal: cancel.signal,
    onReady: ready,
  })) {
    values.push(item.value);
    if (values.length === count) cancel.abort();
  }
  return values;
}

describe('the stream engine over several topics', () => {
  it('should read a topic live only while it has subscriptions (and idleReadMs after), and keep one group on two topics', async () => {
    const [a, b] = await Promise.all([createTestTopic(2), createTestTopic(2)]);
    cleanups.push(a.remove, b.remove);
    const { log, tailsOf } = countingWire();
    const engine = createStreamEngine({
      log,
      logger: pino({ level: 'silent' }),
      instanceId: 'engine-test',
      commitIntervalMs: 100,
      idleReadMs: 300,
    });
    cleanups.push(() => engine.close());
    const decode = (record: { value: Buffer | null }) => record.value?.toString() ?? null;
    const onA = engine.reading({ topic: a.topic, decode });
    const onB = engine.reading({ topic: b.topic, decode });
    // Registered, not subscribed: nothing is read.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect([tailsOf(a.topic), tailsOf(b.topic)]).toEqual([0, 0]);

    const groupId = uniqueName('gqltest.engine');
    cleanups.push(async () => {
      const admin = testKafka().admin();
      await admin.connect();
      await admin.deleteGroups([groupId]).catch(() => {});
      await admin.disconnect();
    });
    let readyCount = 0;
    const bothReady = waitFor('both subscriptions ready', () => (readyCount === 2 ? true : undefined));
    const received = Promise.all([take(onA, groupId, 3, () => readyCount++), take(onB, groupId, 2, () => readyCount++)]);
    await bothReady;
    await Promise.all([produce(a.topic, ['a1', 'a2', 'a3']), produce(b.topic, ['b1', 'b2'])]);
    const [fromA, fromB] = await received;
    expect(fromA.sort()).toEqual(['a1', 'a2', 'a3']);
    expect(fromB.sort()).toEqual(['b1', 'b2']);

    // One group holds offsets on both topics, as Kafka's own tool shows.
    const rows = await describeGroupOffsets(testKafkaBrokers().join(','), groupId);
    const committedPerTopic = (topic: string) =>
      rows.filter((r) => r.topic === topic).reduce((sum, r) => sum + (r.currentOffset ?? 0n), 0n);
    expect([committedPerTopic(a.topic), committedPerTopic(b.topic)]).toEqual([3n, 2n]);

    // The last subscriptions ended: once idleReadMs passed, the live reads stop.
    const stoppedAt = await waitFor('the live reads to stop', async () => {
      const before = [tailsOf(a.topic), tailsOf(b.topic)];
      await new Promise((resolve) => setTimeout(resolve, 1200));
      return before[0] === tailsOf(a.topic) && before[1] === tailsOf(b.topic) ? before : undefined;
    });
    // A new subscription of one topic reads that topic alone again, from where its group left off.
    await produce(a.topic, ['a4']);
    expect(await take(onA, groupId, 1)).toEqual(['a4']);
    expect(tailsOf(a.topic)).toBeGreaterThan(stoppedAt[0] ?? 0);
    expect(tailsOf(b.topic)).toBe(stoppedAt[1]);
  });
});
