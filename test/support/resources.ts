import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { inject } from 'vitest';

/** A short unique suffix for topic, group and database names. */
export const uniqueName = (prefix: string): string => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

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
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  return {
    topic,
    async remove() {
      await admin.deleteTopics({ topics: [topic] }).catch(() => {});
      await admin.disconnect();
    },
  };
}

/** Creates an empty database on the test server; the returned function drops it. */
export async function createTestDatabase(): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const adminUrl = inject('adminDatabaseUrl');
  const name = uniqueName('gkg_test');
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
