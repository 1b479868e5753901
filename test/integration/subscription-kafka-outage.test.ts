import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUDEVENT_CONTENT_TYPE, toOrderSettledEvent } from '../../src/domain/order-event.js';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { startPrivateBroker } from '../support/local-kafka.js';
import { privatePort } from '../support/private-ports.js';
import { testKafka } from '../support/resources.js';
import { orderOf, recon, sourceOnBrokers, subscribe } from './kafka-order-source.fixtures.js';

// A broker of this file's own, which it stops and starts again.
const PRIVATE_PORT = privatePort('subscriptionOutage');
const cleanups = cleanupList();
let broker: Awaited<ReturnType<typeof startPrivateBroker>>;

beforeAll(async () => {
  broker = await startPrivateBroker(PRIVATE_PORT);
  cleanups.push(() => broker.stop());
});

afterAll(() => cleanups.run());

describe('subscriptions across a Kafka outage', () => {
  it('should keep a durable and an ephemeral subscription open through a broker restart, missing nothing', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const { topic, source } = await sourceOnBrokers([broker.brokers], cleanups, { groupPrefix: 'outage' });
    const publish = async (count: number) => {
      const producer = testKafka([broker.brokers]).producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const events = Array.from({ length: count }, (_, i) => toOrderSettledEvent(`${Date.now()}-${i}`, orderOf(`acct-${i % 3}`)));
      await producer.send({
        topic,
        messages: events.map((e) => ({
          key: e.data.accountId,
          value: JSON.stringify(e),
          headers: { 'content-type': CLOUDEVENT_CONTENT_TYPE },
        })),
      });
      await producer.disconnect();
      return events.map((e) => e.id);
    };
    const durable = subscribe(source, { caller: recon, subscriberId: 'outage', start: { kind: 'COMMITTED' }, filter: {} });
    const ephemeral = subscribe(source, { caller: recon, start: { kind: 'LATEST' }, filter: {} });
    await Promise.all([durable.ready, ephemeral.ready]);
    const before = await publish(4);
    await Promise.all([durable.until(4), ephemeral.until(4)]);

    await broker.stop();
    await broker.start();
    const after = await publish(4);
    await Promise.all([durable.until(8), ephemeral.until(8)]);
    for (const s of [durable, ephemeral]) expect([...s.ids()].sort()).toEqual([...before, ...after].sort());
    await Promise.all([durable.stop(), ephemeral.stop()]);
  });
});
