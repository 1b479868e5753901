/**
 * The bench's second declared topic (second-topic.graphql): its SDL for SCHEMA_PATHS, the topic the bench creates and
 * deletes, and a plain kafkajs producer of CloudEvents to it, as a system that knows nothing of the gateway would.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Producer } from 'kafkajs';
import { kafkaClient, removeKafkaResources, uniqueName } from './environment.js';
import type { ScenarioContext } from './scenario.js';
import type { TopicField } from './topic-fields.js';

export const SECOND_TOPIC_SDL = fileURLToPath(new URL('./second-topic.graphql', import.meta.url));
/** The declaration's readScope: the bench token carries it, so it may subscribe without a filter. */
export const SECOND_READ_SCOPE = 'bench:read:all';
/** The declared field, read as orderSettled is: the reading's id (aliased `id`) and account. */
export const SECOND_FIELD: TopicField = {
  field: 'benchReading',
  filterType: 'BenchReadingFilter',
  payload: 'reading',
  selection: 'reading { id: readingId accountId }',
};
/** As the gateway creates the orders topic (ORDERS_TOPIC_PARTITIONS' default), so both topics are read alike. */
const PARTITIONS = 6;

export interface SecondTopic {
  topic: string;
  /** The gateway environment that declares the field on this topic. */
  env: Record<string, string>;
  /** Publishes one reading for `accountId`, keyed by it; resolves with its id once the broker acknowledged it. */
  publish(accountId: string): Promise<string>;
}

/** Creates the topic (its removal and the producer's disconnect go to `context.defer`) and connects a producer. */
export async function openSecondTopic(context: ScenarioContext, name: string): Promise<SecondTopic> {
  const topic = uniqueName(`bench-${name}-second`).replaceAll('_', '-');
  const kafka = kafkaClient(context.brokers);
  const admin = kafka.admin();
  await admin.connect();
  context.defer(() => removeKafkaResources(context.brokers, [topic]));
  try {
    await admin.createTopics({
      // publishedAt and `since` read the append time, as on the orders topic.
      topics: [{ topic, numPartitions: PARTITIONS, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  context.defer(() => producer.disconnect());
  let sequence = 0;
  return {
    topic,
    env: { SCHEMA_PATHS: SECOND_TOPIC_SDL, BENCH_SECOND_TOPIC: topic },
    async publish(accountId) {
      const id = `r-${sequence++}-${randomUUID().slice(0, 8)}`;
      const event = {
        specversion: '1.0',
        id,
        type: 'bench.reading',
        source: 'bench',
        time: new Date().toISOString(),
        data: { readingId: id, accountId, amount: '1', takenAt: new Date().toISOString() },
      };
      await producer.send({ topic, acks: -1, messages: [{ key: accountId, value: JSON.stringify(event) }] });
      return id;
    },
  };
}
