import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOrderSettledEvent } from '../../src/domain/order-event.js';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, graphql, startGatewayProcess } from '../support/gateway.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { type ReadRecord, readTopic, uniqueName, waitFor } from '../support/resources.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let env: TestGatewayEnv;
let topic: string;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'failover');
  topic = env.ORDERS_TOPIC;
});

afterAll(() => cleanups.run());

const ACTIVE = 'outbox relay is active on this process';

describe('two gateway processes on one database', () => {
  it('should run one relay, and the other should publish everything after the first is killed', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const first = await startGatewayProcess(env);
    cleanups.push(() => first.kill());
    await waitFor('the first gateway to take the relay lease', () => (first.logged(ACTIVE) ? true : undefined));
    const second = await startGatewayProcess(env);
    cleanups.push(() => second.kill());
    const admin = await adminToken();
    const account = uniqueName('acc');
    await openFundedAccount(second.url, admin, account, 1_000_000n);

    const place = async (via: string, key: string) => {
      const response = await graphql(via, PLACE, { input: orderInput(account, 7, key) }, admin);
      expect(response.errors).toBeUndefined();
      return response.data?.placeOrder.id as string;
    };
    const placed: string[] = [];
    for (let i = 0; i < 20; i++) placed.push(await place(i % 2 ? first.url : second.url, `a-${i}`));
    await readTopic(topic, 20, { settleMs: 0 });
    expect(second.logged(ACTIVE)).toBe(false);

    await first.kill('SIGKILL');
    for (let i = 0; i < 20; i++) placed.push(await place(second.url, `b-${i}`));
    await waitFor('the second gateway to take over the relay', () => (second.logged(ACTIVE) ? true : undefined), 30_000);

    // Repeats are allowed, so wait for 40 distinct orders rather than 40 records.
    const distinctOrders = (records: readonly ReadRecord[]) => new Set(records.map((r) => parseOrderSettledEvent(r.value)?.order.id)).size;
    const records = await readTopic(topic, 40, { until: (read) => distinctOrders(read) >= 40, timeoutMs: 60_000, settleMs: 1000 });
    const published = records.sort((x, y) => Number(x.offset) - Number(y.offset)).map((r) => parseOrderSettledEvent(r.value)?.order.id);
    // A repeat (same eventId) is allowed only for rows in flight at the kill; nothing may be lost or reordered.
    const firstSeen = published.filter((id, i) => published.indexOf(id) === i);
    expect(firstSeen).toEqual(placed);
  });
});
