import { afterAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { createTestTopic, testKafka, uniqueName, waitFor } from '../support/resources.js';

const cleanups = cleanupList();
afterAll(() => cleanups.run());

describe('the real Kafka broker', () => {
  it('should deliver every record once to each of two consumer groups, in partition order', async () => {
    const { topic, remove } = await createTestTopic(3);
    cleanups.push(remove);
    const kafka = testKafka();
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sent = Array.from({ length: 60 }, (_, i) => ({ key: `key-${i % 7}`, value: String(i) }));
    await producer.send({ topic, acks: -1, messages: sent });

    const groups = [uniqueName('group-a'), uniqueName('group-b')];
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(async () => {
      await admin.deleteGroups(groups).catch(() => {});
      await admin.disconnect();
    });

    for (const groupId of groups) {
      const received: { partition: number; key: string; value: number; offset: bigint }[] = [];
      const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          received.push({ partition, key: String(message.key), value: Number(message.value), offset: BigInt(message.offset) });
        },
      });
      await waitFor(`${groupId} to receive 60 records`, () => (received.length >= 60 ? true : undefined));
      await consumer.disconnect();

      expect(received).toHaveLength(60);
      expect(new Set(received.map((r) => r.value)).size).toBe(60);
      // Within a partition, offsets ascend and each key's values keep the order they were sent in.
      for (const partition of [0, 1, 2]) {
        const offsets = received.filter((r) => r.partition === partition).map((r) => r.offset);
        expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : 1)));
      }
      for (const key of new Set(sent.map((m) => m.key))) {
        const values = received.filter((r) => r.key === key).map((r) => r.value);
        expect(values).toEqual([...values].sort((a, b) => a - b));
        expect(new Set(received.filter((r) => r.key === key).map((r) => r.partition)).size).toBe(1);
      }
    }
  });
});
