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

  it('should publish each of several lone orders after a burst on its own commit, once the relay has gone idle', async () => {
    const account = uniqueName('after');
    await openFundedAccount(url, admin, account, 1000n);
    for (let i = 0; i < 5; i++) {
      const placed = await graphql(url, PLACE, { input: orderInput(account, 10, `after-${i}`) }, admin);
      expect(placed.errors).toBeUndefined();
      // The poll is a minute away: only the commit's wake publishes it within waitFor's deadline.
      await waitFor(`lone order ${i} to be marked published`, async () => {
        const found = await outboxOf([account]);
        return found.length === i + 1 && found.every((r) => r.published) ? true : undefined;
      });
    }
  });
});

// The relay's thread asks for wakes only when it may go to sleep (outbox-relay.ts, armWake): under sustained load,
// with busy and idle moments, every order must still go out without the poll. (The late wake of a commit the relay
// had already published, which once left it asleep, is pinned by test/unit/outbox-relay-wakes.test.ts.)
describe('the outbox relay on its thread under sustained load, with no poll to fall back on', () => {
  const cleanups = cleanupList();
  afterAll(() => cleanups.run());

  it('should publish every order of 16 callers placing orders for 3 s, each exactly once', async () => {
    const env = await testGatewayEnv(cleanups, 'sustained', { RELAY_POLL_MS: '60000' });
    const gateway = await startInProcessGateway(env);
    cleanups.push(gateway.stop);
    const admin = await adminToken();
    const sql = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {} });
    cleanups.push(() => sql.end());
    const accounts = Array.from({ length: 8 }, (_, i) => uniqueName(`sustained${i}`));
    for (const account of accounts) await openFundedAccount(gateway.url, admin, account, 1_000_000n);

    const placed: string[] = [];
    const until = Date.now() + 3000;
    await Promise.all(
      Array.from({ length: 16 }, async (_, caller) => {
        for (let i = 0; Date.now() < until; i++) {
          const result = await graphql(gateway.url, PLACE, { input: orderInput(accounts[caller % 8]!, 1, `s-${caller}-${i}`) }, admin);
          placed.push(result.data?.placeOrder.id as string);
        }
      }),
    );
    expect(placed.every(Boolean)).toBe(true);

    await waitFor('every order to be marked published', async () => {
      const [row] = await sql<{ unpublished: number }[]>`select count(*)::int as unpublished from outbox where published_at is null`;
      return row?.unpublished === 0 ? true : undefined;
    });
    const records = await readTopic(env.ORDERS_TOPIC, placed.length, { settleMs: 500 });
    expect(records).toHaveLength(placed.length);
    expect(new Set(records.map((r) => parseOrderSettledEvent(r.value)?.order.id))).toEqual(new Set(placed));
  });
});
