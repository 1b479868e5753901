import { type Admin, Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';
import { createScratchDatabase, type ScratchDatabase, uniqueName } from './scratch.js';

export { uniqueName };

export const testKafkaBrokers = (): string[] => inject('kafkaBrokers').split(',');

export const testKafka = (brokers: string[] = testKafkaBrokers()): Kafka =>
  new Kafka({ clientId: 'test', brokers, logLevel: logLevel.NOTHING });

/** Creates a fresh topic; the returned function deletes it. */
export async function createTestTopic(
  partitions = 3,
  brokers: string[] = testKafkaBrokers(),
): Promise<{ topic: string; remove(): Promise<void> }> {
  const topic = uniqueName('test-topic').replaceAll('_', '-');
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: false });
    // kafkajs's own wait gives up when a busy KRaft broker briefly reports the new topic as unknown.
    await untilTopicLed(admin, topic, partitions);
  } catch (error) {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    throw error;
  }
  return {
    topic,
    async remove() {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    },
  };
}

/** Waits until `topic` exists (with `partitions` partitions, when given) and every partition has a leader. */
async function untilTopicLed(admin: Admin, topic: string, partitions?: number): Promise<void> {
  await waitFor(`leaders for every partition of ${topic}`, async () => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => ({ topics: [] }));
    const found = topics[0]?.partitions ?? [];
    const complete = partitions === undefined ? found.length > 0 : found.length === partitions;
    return complete && found.every((p) => p.leader >= 0) ? true : undefined;
  });
}

/** Creates an empty database on the test server; the returned function drops it. */
export const createTestDatabase = (): Promise<ScratchDatabase> => createScratchDatabase(inject('adminDatabaseUrl'), 'gkg_test');

/** Thrown by a `waitFor` probe when waiting longer cannot help (a process exited): ends the wait at once. */
export class GiveUp extends Error {}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof GiveUp) throw error;
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface ReadRecord {
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  timestamp: string;
}

/**
 * Reads a topic from the beginning with a throwaway group until `count` records
 * arrived (or fails at the deadline), then waits `settleMs` more so that extra
 * records would be seen too; deletes the group afterwards.
 */
export async function readTopic(
  topic: string,
  count: number,
  options: {
    brokers?: string[];
    timeoutMs?: number;
    settleMs?: number;
    /** Read until this holds instead of until `count` records arrived. */
    until?: (records: readonly ReadRecord[]) => boolean;
  } = {},
): Promise<ReadRecord[]> {
  const kafka = testKafka(options.brokers);
  const groupId = uniqueName('reader');
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  const records: ReadRecord[] = [];
  // The gateway creates its topic in the background: subscribing before that fails in kafkajs.
  const admin = kafka.admin();
  await admin.connect();
  try {
    await untilTopicLed(admin, topic);
  } finally {
    await admin.disconnect();
  }
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        records.push({
          partition,
          offset: message.offset,
          key: String(message.key),
          value: String(message.value),
          timestamp: message.timestamp,
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
      },
    });
    const done = options.until ?? ((read) => read.length >= count);
    await waitFor(
      `${options.until ? 'the expected records' : `${count} records`} on ${topic} (have ${records.length})`,
      () => (done(records) ? true : undefined),
      options.timeoutMs ?? 30_000,
    );
    const settleUntil = Date.now() + (options.settleMs ?? 500);
    // Extra records would arrive within this window; the caller asserts the exact count.
    await waitFor('the settle window', () => (Date.now() >= settleUntil ? true : undefined));
    return records;
  } finally {
    await consumer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteGroups([groupId]).catch(() => {});
    await admin.disconnect();
  }
}

/** Deletes a topic if the broker answers; a test's clean-up must not fail because its broker is already gone. */
export async function deleteTopic(topic: string, brokers?: string[]): Promise<void> {
  const admin = testKafka(brokers).admin({ retry: { retries: 1 } });
  try {
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] });
  } catch {
    // nothing to delete, or no broker to delete it from
  } finally {
    await admin.disconnect();
  }
}

/**
 * Keeps watching for `ms` after the expected outcome arrived, so that an
 * unexpected extra (a duplicate, a filtered event) would have time to show up
 * before the exact assertion. Not a stand-in for waiting on a condition.
 */
export const observeFor = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Deletes every consumer group whose id starts with `prefix` (a test's safety net; the gateway deletes its own). */
export async function deleteGroupsWithPrefix(prefix: string, brokers?: string[]): Promise<void> {
  const admin = testKafka(brokers).admin();
  await admin.connect();
  try {
    // A broker the run just started may still be loading its group coordinator: listed again until it answers.
    const { groups } = await waitFor('the broker to list its consumer groups', () => admin.listGroups());
    const ours = groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (ours.length > 0) await admin.deleteGroups(ours).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}
