import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaWire } from '../../src/adapters/kafka/kafka-wire.js';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { startPrivateBroker } from '../support/local-kafka.js';
import { privatePort } from '../support/private-ports.js';
import { waitFor } from '../support/resources.js';
import { recon, sourceOnBrokers, subscribe } from './kafka-order-source.fixtures.js';

// A broker of this file's own that forgets the offsets of an empty group one minute after its last commit.
const PRIVATE_PORT = privatePort('offsetsRetention');
const cleanups = cleanupList();
let brokers: string[];

beforeAll(async () => {
  const broker = await startPrivateBroker(PRIVATE_PORT, ['offsets.retention.minutes=1', 'offsets.retention.check.interval.ms=2000']);
  cleanups.push(() => broker.stop());
  brokers = [broker.brokers];
});

afterAll(() => cleanups.run());

describe("a connected durable subscriber's offsets", () => {
  it("should outlive the broker's offsets retention while the subscriber stays connected and idle", {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const { topic, kafka, source } = await sourceOnBrokers(brokers, cleanups, { groupPrefix: 'retention', offsetsRefreshMs: 5_000 });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const idle = subscribe(source, { caller: recon, subscriberId: 'idle', start: { kind: 'COMMITTED' }, filter: {} });
    await idle.ready;

    // A group committed once, the same way, and never again: the broker must drop its offsets.
    const wire = createKafkaWire(kafka);
    cleanups.push(() => wire.close());
    await wire.commit(
      'retention.control',
      topic,
      new Map([
        [0, 0n],
        [1, 0n],
      ]),
      'graphql-kafka-gateway test',
    );
    const offsetsOf = async (groupId: string) => {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return (offsets?.partitions ?? []).filter((p) => p.offset !== '-1').length;
    };
    expect(await offsetsOf('retention.control')).toBe(2);
    await waitFor(
      'the broker to expire the control group',
      async () => ((await offsetsOf('retention.control')) === 0 ? true : undefined),
      150_000,
    );

    expect(await offsetsOf('retention.recon.idle')).toBe(2);
    await idle.stop();
    await admin.deleteGroups(['retention.recon.idle']).catch(() => {});
  });
});
