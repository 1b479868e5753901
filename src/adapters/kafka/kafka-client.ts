import { Kafka, logLevel } from 'kafkajs';
import type { Logger } from '../../logger.js';
import { kafkaLogCreator } from './kafka-logger.js';
import './request-queue-fix.js';
import type { KafkaSecurity } from './kafka-security.js';

// kafkajs prints a partitioner migration warning on every producer otherwise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/**
 * The one kafkajs client of the process. Its TLS and SASL reach every connection: the producer and admin clients,
 * and the engine's clusters, which kafka-wire.ts builds with this client's own factory.
 */
export function createKafka(brokers: string[], logger: Logger, clientId = 'graphql-kafka-gateway', security: KafkaSecurity = {}): Kafka {
  return new Kafka({
    clientId,
    brokers,
    ...security,
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 100, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(logger),
  });
}

/** Creates the topic when it does not exist; an existing topic keeps its partitions and settings. */
export async function ensureTopic(kafka: Kafka, topic: string, numPartitions: number): Promise<'created' | 'exists'> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = await admin.listTopics();
    if (existing.includes(topic)) return 'exists';
    const created = await admin.createTopics({
      // publishedAt in the schema is when Kafka appended the record, not when the relay sent it.
      topics: [{ topic, numPartitions, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }],
      waitForLeaders: true,
    });
    return created ? 'created' : 'exists';
  } finally {
    await admin.disconnect();
  }
}
