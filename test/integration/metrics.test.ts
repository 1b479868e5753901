import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, graphql, startInProcessGateway } from '../support/gateway.js';
import { sampleValue, scrape } from '../support/metrics.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { testKafka, uniqueName, waitFor } from '../support/resources.js';
import { type Subscriber, subscribe, untilLive } from '../support/subscriber.js';
import { testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let prefix: string;
let topic: string;
let url: string;
let admin: string;

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'metrics', {
    // Fast enough for a test to see the lag of a group nobody holds, and a commit, within a poll or two.
    METRICS_REFRESH_MS: '200',
    OFFSETS_COMMIT_INTERVAL_MS: '100',
  });
  prefix = env.KAFKA_GROUP_PREFIX;
  topic = env.ORDERS_TOPIC;
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
});

afterAll(() => cleanups.run());

const track = (subscriber: Subscriber) => {
  cleanups.push(() => subscriber.close());
  return subscriber;
};

/** Places orders `concurrency` at a time, scraping /metrics meanwhile; resolves with each order's error code (or OK). */
async function placeUnderScrapes(account: string, amounts: readonly number[], keyPrefix: string, concurrency = 4): Promise<string[]> {
  const codes: string[] = [];
  let placing = true;
  const scraping = (async () => {
    for (let scrapes = 0; placing || scrapes === 0; scrapes++) await scrape(url);
  })();
  const queue = amounts.map((amount, i) => ({ amount, key: `${keyPrefix}-${i}` }));
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const response = await graphql(url, PLACE, { input: orderInput(account, next.amount, next.key) }, admin);
        codes.push(response.errors?.[0]?.extensions?.code ?? 'OK');
      }
    }),
  );
  placing = false;
  await scraping;
  return codes;
}

/** The group's lag as Kafka's admin API has it: the topic's end offsets minus the group's committed offsets. */
async function adminLag(groupId: string): Promise<number> {
  const kafkaAdmin = testKafka().admin();
  await kafkaAdmin.connect();
  try {
    const [ends, [committed]] = await Promise.all([
      kafkaAdmin.fetchTopicOffsets(topic),
      kafkaAdmin.fetchOffsets({ groupId, topics: [topic] }),
    ]);
    let lag = 0;
    for (const { partition, offset } of committed?.partitions ?? []) {
      const end = ends.find((e) => e.partition === partition);
      if (end && Number(offset) >= 0) lag += Number(end.high) - Number(offset);
    }
    return lag;
  } finally {
    await kafkaAdmin.disconnect();
  }
}

const lagOf = async (groupId: string) => sampleValue(await scrape(url), 'gateway_consumer_group_lag', { group: groupId });

describe('GET /metrics', () => {
  it('should count placeOrder outcomes by code, exactly as many as were caused, while it is scraped under load', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 30n);
    const before = await scrape(url);
    // 30 of balance: ten orders of 3 settle, the six of 10 after them are refused.
    const codes = await placeUnderScrapes(account, [...Array(10).fill(3), ...Array(6).fill(10)], 'outcomes');
    expect(codes.filter((c) => c === 'OK')).toHaveLength(10);
    expect(codes.filter((c) => c === 'INSUFFICIENT_FUNDS')).toHaveLength(6);
    const badToken = await graphql(url, PLACE, { input: orderInput(account, 1, 'outcomes-bad-token') }, 'not-a-jwt');
    expect(badToken.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const after = await scrape(url);
    const delta = (name: string, labels: Record<string, string>) =>
      (sampleValue(after, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
    expect(delta('gateway_place_order_outcomes_total', { code: 'OK' })).toBe(10);
    expect(delta('gateway_place_order_outcomes_total', { code: 'INSUFFICIENT_FUNDS' })).toBe(6);
    // Refused before GraphQL ran (the token is checked first), yet counted as the placeOrder it was.
    expect(delta('gateway_place_order_outcomes_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    const operations = (code: string) =>
      delta('gateway_graphql_operation_duration_seconds_count', { transport: 'http', operation: 'placeOrder', code });
    expect([operations('OK'), operations('INSUFFICIENT_FUNDS'), operations('UNAUTHENTICATED')]).toEqual([10, 6, 1]);
    // Every request of the test, the scrapes among them, has its HTTP series.
    expect(delta('gateway_http_request_duration_seconds_count', { route: 'graphql', status: '200' })).toBeGreaterThanOrEqual(16);
    expect(delta('gateway_http_request_duration_seconds_count', { route: 'metrics', status: '200' })).toBeGreaterThanOrEqual(1);
  });

  it("should show a stopped durable group's lag growing by every order placed since, equal to Kafka's, and back to zero once it resumes", async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000n);
    const subscriberId = uniqueName('ledger');
    const groupId = `${prefix}.admin.${subscriberId}`;
    const first = track(subscribe(url, admin, { filter: { accountId: account }, subscriberId }));
    await untilLive([first], async (i) => {
      await placeUnderScrapes(account, [1], `warm-${i}`);
    });
    // Connected and caught up: its commits reach the end.
    await waitFor('the connected group to be caught up', async () => ((await lagOf(groupId)) === 0 ? true : undefined));
    const state = async (name: string) => sampleValue(await scrape(url), 'gateway_consumer_group_lag_groups', { state: name });
    expect(await state('connected')).toBeGreaterThanOrEqual(1);

    const durableOpen = async () => sampleValue(await scrape(url), 'gateway_subscriptions_open', { kind: 'durable' });
    const openBefore = (await durableOpen()) ?? 0;
    await first.close();
    // Its last commit is made once the subscription has ended.
    await waitFor('the subscription to end', async () => ((await durableOpen()) === openBefore - 1 ? true : undefined));
    const placed = 7;
    expect(await placeUnderScrapes(account, Array(placed).fill(1), 'while-away')).toEqual(Array(placed).fill('OK'));
    const lag = await waitFor(`the lag of ${groupId} to reach ${placed}`, async () => {
      const [fromMetrics, fromKafka] = await Promise.all([lagOf(groupId), adminLag(groupId)]);
      return fromMetrics === placed && fromKafka === placed ? fromMetrics : undefined;
    });
    expect(lag).toBe(placed);

    const resumed = track(subscribe(url, admin, { filter: { accountId: account }, subscriberId, start: 'COMMITTED' }));
    const events = await resumed.received(placed);
    expect(events.map((e) => e.order.idempotencyKey).sort()).toEqual(Array.from({ length: placed }, (_, i) => `while-away-${i}`).sort());
    await waitFor('the resumed group to be caught up', async () => {
      const [fromMetrics, fromKafka] = await Promise.all([lagOf(groupId), adminLag(groupId)]);
      return fromMetrics === 0 && fromKafka === 0 ? true : undefined;
    });
  });

  it('should report subscriptions by kind, events delivered, the relay, the outbox and both dependencies', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000n);
    const before = await scrape(url);
    const durable = track(subscribe(url, admin, { filter: { accountId: account }, subscriberId: uniqueName('kinds') }));
    const ephemeral = track(subscribe(url, admin, { filter: { accountId: account } }));
    await untilLive([durable, ephemeral], async (i) => {
      await placeUnderScrapes(account, [1], `kinds-warm-${i}`);
    });
    const opened = await scrape(url);
    const open = (samples: typeof before, kind: string) => sampleValue(samples, 'gateway_subscriptions_open', { kind }) ?? 0;
    expect(open(opened, 'durable') - open(before, 'durable')).toBe(1);
    expect(open(opened, 'ephemeral') - open(before, 'ephemeral')).toBe(1);
    expect(sampleValue(opened, 'gateway_subscriptions_active')).toBe(open(opened, 'durable') + open(opened, 'ephemeral'));
    expect(sampleValue(opened, 'gateway_websocket_connections')).toBeGreaterThanOrEqual(2);

    const [durableBefore, ephemeralBefore] = [durable.events.length, ephemeral.events.length];
    await placeUnderScrapes(account, Array(5).fill(1), 'kinds');
    await durable.received(durableBefore + 5);
    await ephemeral.received(ephemeralBefore + 5);
    const delivered = (samples: typeof before, kind: string) => sampleValue(samples, 'gateway_events_delivered_total', { kind }) ?? 0;
    await waitFor('the deliveries to be counted', async () => {
      const now = await scrape(url);
      return delivered(now, 'durable') - delivered(before, 'durable') === durable.events.length &&
        delivered(now, 'ephemeral') - delivered(before, 'ephemeral') === ephemeral.events.length
        ? true
        : undefined;
    });

    // The relay's thread reports its sends every 20 ms, so a subscriber may see an event before its send is counted.
    const relayedRecords = (samples: typeof before) => sampleValue(samples, 'gateway_relay_batch_records_sum') ?? 0;
    const now = await waitFor('the relay to count the sends of all six orders', async () => {
      const samples = await scrape(url);
      return relayedRecords(samples) - relayedRecords(before) >= 6 ? samples : undefined;
    });
    expect(sampleValue(now, 'gateway_dependency_up', { dependency: 'postgres' })).toBe(1);
    expect(sampleValue(now, 'gateway_dependency_up', { dependency: 'kafka' })).toBe(1);
    expect(sampleValue(now, 'gateway_relay_active')).toBe(1);
    expect(sampleValue(now, 'gateway_relay_publish_duration_seconds_count')).toBeGreaterThan(0);
    expect(sampleValue(now, 'gateway_outbox_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(sampleValue(now, 'gateway_slow_client_disconnects_total', { reason: 'keepalive' })).toBe(0);
    expect(
      sampleValue(now, 'gateway_graphql_operation_duration_seconds_count', {
        transport: 'websocket',
        operation: 'orderSettled',
        code: 'OK',
      }),
    ).toBeGreaterThanOrEqual(2);
  });
});
