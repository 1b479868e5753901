import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOrderSettledEvent } from '../../src/domain/order-event.js';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, graphql, startInProcessGateway } from '../support/gateway.js';
import { startPrivateBroker } from '../support/local-kafka.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { privatePort } from '../support/private-ports.js';
import { createTestDatabase, deleteTopic, readTopic, testKafka, uniqueName, waitFor } from '../support/resources.js';

// A broker of this file's own: stopping the shared one would disturb the other test files.
const PRIVATE_PORT = privatePort('outboxKafkaDown');
const cleanups = cleanupList();
let broker: Awaited<ReturnType<typeof startPrivateBroker>>;
let url: string;
let admin: string;
let readyz: () => Promise<number>;
const topic = uniqueName('orders').replaceAll('_', '-');

beforeAll(async () => {
  broker = await startPrivateBroker(PRIVATE_PORT);
  cleanups.push(() => broker.stop());
  cleanups.push(() => deleteTopic(topic, [broker.brokers]));
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const gateway = await startInProcessGateway({ DATABASE_URL: db.url, KAFKA_BROKERS: broker.brokers, ORDERS_TOPIC: topic });
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
  readyz = async () => (await fetch(`${url}/readyz`)).status;
});

afterAll(() => cleanups.run());

describe('the outbox while Kafka is down', () => {
  it('should keep settling orders, report not ready, and publish every one in commit order once Kafka is back', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const healthz = await fetch(`${url}/healthz`);
    expect(healthz.status).toBe(200);
    await waitFor('readyz to answer 200', async () => ((await readyz()) === 200 ? true : undefined));
    const accounts = [uniqueName('a'), uniqueName('b'), uniqueName('c')];
    for (const account of accounts) await openFundedAccount(url, admin, account, 1_000_000n);
    // One order before the outage proves the topic exists and the relay runs.
    await graphql(url, PLACE, { input: orderInput(accounts[0]!, 1, 'before') }, admin);
    await readTopic(topic, 1, { brokers: [broker.brokers], settleMs: 0 });

    await broker.stop();
    await waitFor('readyz to answer 503', async () => ((await readyz()) === 503 ? true : undefined));
    const placed: { id: string; accountId: string }[] = [];
    for (let i = 0; i < 30; i++) {
      const account = accounts[i % 3]!;
      const response = await graphql(url, PLACE, { input: orderInput(account, 10 + i, `down-${i}`) }, admin);
      expect(response.errors).toBeUndefined();
      placed.push({ id: response.data?.placeOrder.id, accountId: account });
    }

    await broker.start();
    await waitFor('readyz to answer 200 again', async () => ((await readyz()) === 200 ? true : undefined));
    const records = await readTopic(topic, 31, { brokers: [broker.brokers], timeoutMs: 60_000, settleMs: 1500 });
    const events = records.map((r) => ({ record: r, event: parseOrderSettledEvent(r.value) }));
    expect(records).toHaveLength(31);
    expect(new Set(events.map((e) => e.event?.eventId)).size).toBe(31);
    for (const account of accounts) {
      const settledOrder = placed.filter((p) => p.accountId === account).map((p) => p.id);
      const published = events
        .filter((e) => e.record.key === account && e.event?.order.idempotencyKey.startsWith('down-'))
        .sort((x, y) => Number(x.record.offset) - Number(y.record.offset))
        .map((e) => e.event?.order.id);
      expect(published).toEqual(settledOrder);
    }
  });

  it('should start while Kafka is down, settle orders, and create the topic and publish them once Kafka answers', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    await broker.stop();
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    const lateTopic = uniqueName('late').replaceAll('_', '-');
    cleanups.push(() => deleteTopic(lateTopic, [broker.brokers]));
    const late = await startInProcessGateway({ DATABASE_URL: db.url, KAFKA_BROKERS: broker.brokers, ORDERS_TOPIC: lateTopic });
    cleanups.push(late.stop);
    const account = uniqueName('acc');
    await openFundedAccount(late.url, admin, account, 1000n);
    const placed: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await graphql(late.url, PLACE, { input: orderInput(account, 10, `late-${i}`) }, admin);
      expect(response.errors).toBeUndefined();
      placed.push(response.data?.placeOrder.id);
    }
    await broker.start();
    await waitFor(
      'the gateway to create its topic',
      async () => {
        const kafkaAdmin = testKafka([broker.brokers]).admin();
        await kafkaAdmin.connect();
        try {
          return (await kafkaAdmin.listTopics()).includes(lateTopic) ? true : undefined;
        } finally {
          await kafkaAdmin.disconnect();
        }
      },
      60_000,
    );
    const records = await readTopic(lateTopic, 5, { brokers: [broker.brokers], timeoutMs: 60_000, settleMs: 1000 });
    expect(records.map((r) => parseOrderSettledEvent(r.value)?.order.id)).toEqual(placed);
  });
});
