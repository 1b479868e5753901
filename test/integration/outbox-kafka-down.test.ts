import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOrderSettledEvent } from '../../src/domain/order-event.js';
import { adminToken, graphql, startInProcessGateway } from '../support/gateway.js';
import { startPrivateBroker } from '../support/local-kafka.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { createTestDatabase, readTopic, uniqueName, waitFor } from '../support/resources.js';

// A broker of this file's own: stopping the shared one would disturb the other test files.
const PRIVATE_PORT = 19392;
const cleanups: (() => Promise<unknown>)[] = [];
let broker: Awaited<ReturnType<typeof startPrivateBroker>>;
let url: string;
let admin: string;
let readyz: () => Promise<number>;
const topic = uniqueName('orders').replaceAll('_', '-');

beforeAll(async () => {
  broker = await startPrivateBroker(PRIVATE_PORT);
  cleanups.push(() => broker.stop());
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const gateway = await startInProcessGateway({ DATABASE_URL: db.url, KAFKA_BROKERS: broker.brokers, ORDERS_TOPIC: topic });
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
  readyz = async () => (await fetch(`${url}/readyz`)).status;
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe('the outbox while Kafka is down', () => {
  it('should keep settling orders, report not ready, and publish every one in commit order once Kafka is back', async () => {
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
});
