import type { CleanupList } from './cleanup.js';
import type { GatewayEnv } from './gateway.js';
import { createTestDatabase, deleteGroupsWithPrefix, deleteTopic, testKafkaBrokers, uniqueName } from './resources.js';

export type TestGatewayEnv = GatewayEnv & { KAFKA_GROUP_PREFIX: string };

/**
 * A database, a topic and a consumer-group prefix of one test file's own, on the shared broker and
 * PostgreSQL, as the environment of a gateway; `cleanups` drops the database and deletes the topic
 * and every group under the prefix.
 */
export async function testGatewayEnv(cleanups: CleanupList, name: string, extra: Record<string, string> = {}): Promise<TestGatewayEnv> {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const topic = uniqueName(`${name}-orders`).replaceAll('_', '-');
  const prefix = uniqueName(name).replaceAll('_', '-');
  cleanups.push(() => deleteTopic(topic));
  cleanups.push(() => deleteGroupsWithPrefix(`${prefix}.`));
  return { DATABASE_URL: db.url, KAFKA_BROKERS: testKafkaBrokers().join(','), ORDERS_TOPIC: topic, KAFKA_GROUP_PREFIX: prefix, ...extra };
}
