import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOrderSettledEvent } from '../../src/domain/order-event.js';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, graphql, startInProcessGateway } from '../support/gateway.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { readTopic, uniqueName, waitFor } from '../support/resources.js';
import { testGatewayEnv } from '../support/test-env.js';

// The relay on its own thread (the default) and on the main thread (RELAY_THREAD=false): the same outcomes.
describe.each(['true', 'false'])('the outbox relay with a linger, RELAY_THREAD=%s', (relayThread) => {
  const cleanups = cleanupList();
  let url: string;
  let admin: string;
  let topic: string;
  let sql: postgres.Sql;

  // The safety-net poll is far longer than any wait below: only commit wake-ups and the linger move records here.
  // The linger is long, so a burst is sure to share batches.
  beforeAll(async () => {
    const env = await testGatewayEnv(cleanups, 'linger', { RELAY_POLL_MS: '60000', RELAY_LINGER_MS: '50', RELAY_THREAD: relayThread });
    topic = env.ORDERS_TOPIC;
    const gateway = await startInProcessGateway(env);
    cleanups.push(gateway.stop);
    url = gateway.url;
    admin = await adminToken();
    sql = postgres(env.DATABASE_URL, { max: 2, onnotice: () => {} });
    cleanups.push(() => sql.end());
  });

  afterAll(() => cleanups.run());

  const outboxOf = (accounts: string[]) =>
    sql<{ event_id: string; published: boolean; batch: string | null; in_order: boolean }[]>`
    select event_id, published_at is not null as published, published_at::text as batch, published_at >= created_at as in_order
    from outbox where key = any(${`{${accounts.join(',')}}`}::text[])`;

  it('should publish a lone order on its commit, without waiting for the poll', async () => {
    const account = uniqueName('lone');
    await openFundedAccount(url, admin, account, 1000n);
    const placed = await graphql(url, PLACE, { input: orderInput(account, 10, 'lone-1') }, admin);
    const orderId = placed.data?.placeOrder.id as string;
    expect(orderId).toBeTruthy();

    const rows = await waitFor('the order to be marked published', async () => {
      const found = await outboxOf([account]);
      return found.length === 1 && found[0]?.published ? found : undefined;
    });
    expect(rows[0]?.in_order).toBe(true);
    const records = (await readTopic(topic, 1, { until: (r) => r.some((x) => x.key === account) })).filter((r) => r.key === account);
    expect(records.map((r) => parseOrderSettledEvent(r.value)?.order.id)).toEqual([orderId]);
  });

  it('should publish every order of a burst exactly once, in batches of several orders', async () => {
    const accounts = Array.from({ length: 4 }, (_, i) => uniqueName(`burst${i}`));
    for (const account of accounts) await openFundedAccount(url, admin, account, 100_000n);
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) => graphql(url, PLACE, { input: orderInput(accounts[i % 4]!, 5, `burst-${i}`) }, admin)),
    );
    const orderIds = results.map((r) => r.data?.placeOrder.id as string);
    expect(orderIds.every(Boolean)).toBe(true);

    const rows = await waitFor('every order of the burst to be marked published', async () => {
      const found = await outboxOf(accounts);
      return found.length === 120 && found.every((r) => r.published) ? found : undefined;
    });
    expect(rows.every((r) => r.in_order)).toBe(true);
    // One mark per batch, one published_at per mark.
    expect(new Set(rows.map((r) => r.batch)).size).toBeLessThan(120);

    const mine = new Set(accounts);
    const records = (
      await readTopic(topic, 121, { settleMs: 1000, until: (r) => r.filter((x) => mine.has(String(x.key))).length >= 120 })
    ).filter((r) => mine.has(String(r.key)));
    const events = records.map((r) => parseOrderSettledEvent(r.value));
    expect(events).toHaveLength(120);
    expect(new Set(events.map((e) => e?.order.id))).toEqual(new Set(orderIds));
    expect(new Set(events.map((e) => e?.eventId))).toEqual(new Set(rows.map((r) => r.event_id)));
  });
});
