import { createRequire } from 'node:module';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createKafka } from '../../src/adapters/kafka/kafka-client.js';
import { requestQueuePatched } from '../../src/adapters/kafka/request-queue-fix.js';
import { cleanupList } from '../support/cleanup.js';
import { createTestTopic, observeFor, readTopic, testKafkaBrokers } from '../support/resources.js';

const cleanups = cleanupList();
afterAll(() => cleanups.run());

const { prototype } = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { checkPendingRequests(): void };
};

/** Counts kafkajs's pending-request checks while `during` runs. */
async function countChecks(during: () => Promise<void>): Promise<number> {
  const original = prototype.checkPendingRequests;
  let checks = 0;
  prototype.checkPendingRequests = function counted(this: unknown) {
    checks++;
    return original.call(this);
  };
  try {
    await during();
  } finally {
    prototype.checkPendingRequests = original;
  }
  return checks;
}

describe("kafkajs's request queue, as the gateway's Kafka client runs it", () => {
  it('should be patched: the kafkajs in use still has the method the fix replaces', () => {
    expect(requestQueuePatched).toBe(true);
  });

  it('should not check its queue at all while a connection idles (kafkajs 2.2.4 did, every millisecond)', async () => {
    const admin = createKafka(testKafkaBrokers(), pino({ level: 'silent' })).admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.listTopics();
    // One answered request arms the loop in kafkajs 2.2.4: about 300 checks in these 300 ms.
    const checks = await countChecks(() => observeFor(300));
    expect(checks).toBe(0);
  });

  it('should still send every request that had to wait for the one in flight', async () => {
    const { topic, remove } = await createTestTopic(1);
    cleanups.push(remove);
    const producer = createKafka(testKafkaBrokers(), pino({ level: 'silent' })).producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    await Promise.all(Array.from({ length: 30 }, (_, i) => producer.send({ topic, acks: -1, messages: [{ key: 'k', value: String(i) }] })));
    const records = await readTopic(topic, 30);
    expect(records.map((r) => Number(r.value)).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });
});
