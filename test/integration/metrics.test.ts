import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durableGroupId } from '../../src/adapters/kafka/consumer-group-names.js';
import { groupLabeler, groupLabelKey } from '../../src/observability/group-labels.js';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, graphql, startInProcessGateway, TEST_SECRET, token } from '../support/gateway.js';
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
let databaseUrl: string;

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'metrics', {
    // Fast enough for a test to see the lag of a group nobody holds, and a commit, within a poll or two.
    METRICS_REFRESH_MS: '200',
    OFFSETS_COMMIT_INTERVAL_MS: '100',
    // These tests follow groups by their id; the hashed labels have a test of their own below.
    METRICS_GROUP_LABELS: 'full',
  });
  databaseUrl = env.DATABASE_URL;
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
    // Every request of the test has its HTTP series: the 16 orders, and the refused one under its own status.
    const refusedStatus = String(badToken.status);
    const graphqlRequests = (status: string) => delta('gateway_http_request_duration_seconds_count', { route: 'graphql', status });
    if (refusedStatus === '200') expect(graphqlRequests('200')).toBe(17);
    else expect([graphqlRequests('200'), graphqlRequests(refusedStatus)]).toEqual([16, 1]);
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
    // The only durable subscription open in this file at this point.
    expect(await state('connected')).toBe(1);

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
    const sockets = (samples: typeof before) => sampleValue(samples, 'gateway_websocket_connections') ?? 0;
    expect(sockets(opened) - sockets(before)).toBe(2);

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
    // Six records went in one to six sends.
    const sends = (samples: typeof before) => sampleValue(samples, 'gateway_relay_publish_duration_seconds_count') ?? 0;
    expect(sends(now) - sends(before)).toBeGreaterThanOrEqual(1);
    expect(sends(now) - sends(before)).toBeLessThanOrEqual(6);
    expect(sampleValue(now, 'gateway_slow_client_disconnects_total', { reason: 'keepalive' })).toBe(0);
    // A subscription counts once its stream started: these two.
    const subscribed = (samples: typeof before) =>
      sampleValue(samples, 'gateway_graphql_operation_duration_seconds_count', {
        transport: 'websocket',
        operation: 'orderSettled',
        code: 'OK',
      }) ?? 0;
    expect(subscribed(now) - subscribed(before)).toBe(2);
  });
});

describe('gateway_outbox_oldest_pending_age_seconds', () => {
  it("should report the oldest unpublished order's age, growing, while the relay cannot mark it published, and 0 once it can", async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000n);
    const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
    // The relay's mark of a published row waits on a lock this test holds: the row stays pending, as it would
    // while PostgreSQL cannot take the relay's writes. Reads (the backlog sampler's) are not held up.
    const lock = 21_0000_0001;
    await sql.unsafe(`
      create function test_hold_outbox_marks() returns trigger language plpgsql as $$
      begin perform pg_advisory_xact_lock_shared(${lock}); return new; end $$;
      create trigger test_hold_outbox_marks before update on outbox for each row execute function test_hold_outbox_marks();`);
    const holder = await sql.reserve();
    try {
      await holder`select pg_advisory_lock(${lock})`;
      const age = async () => sampleValue(await scrape(url), 'gateway_outbox_oldest_pending_age_seconds') ?? 0;
      // The gauge is sampled in the background: what earlier tests placed may still read as pending for a sample.
      await waitFor('no order pending before this one', async () => ((await age()) === 0 ? true : undefined));
      const placed = await graphql(url, PLACE, { input: orderInput(account, 1, 'held-mark') }, admin);
      expect(placed.errors).toBeUndefined();
      const first = await waitFor('the pending age to pass 1 s', async () => {
        const seconds = await age();
        return seconds >= 1 ? seconds : undefined;
      });
      const later = await waitFor('the pending age to grow', async () => {
        const seconds = await age();
        return seconds >= first + 1 ? seconds : undefined;
      });
      // Seconds since the order, not milliseconds nor seconds since 1970.
      expect(later).toBeLessThan(60);
    } finally {
      await holder`select pg_advisory_unlock(${lock})`;
      holder.release();
    }
    try {
      await waitFor('the pending age to fall back to 0 once the row is marked', async () =>
        (sampleValue(await scrape(url), 'gateway_outbox_oldest_pending_age_seconds') ?? -1) === 0 ? true : undefined,
      );
    } finally {
      await sql.unsafe('drop trigger test_hold_outbox_marks on outbox; drop function test_hold_outbox_marks()');
      await sql.end({ timeout: 5 });
    }
  });
});

describe('GET /metrics with METRICS_TOKEN, and hashed group labels (the default)', () => {
  const METRICS_TOKEN = 'metrics-token-for-the-integration-test';
  let guarded: string;
  let guardedPrefix: string;

  beforeAll(async () => {
    const env = await testGatewayEnv(cleanups, 'metrics-guarded', {
      METRICS_REFRESH_MS: '200',
      OFFSETS_COMMIT_INTERVAL_MS: '100',
      METRICS_TOKEN,
    });
    guardedPrefix = env.KAFKA_GROUP_PREFIX;
    const gateway = await startInProcessGateway(env);
    cleanups.push(gateway.stop);
    guarded = gateway.url;
  });

  it('should answer 401 without the bearer token, with another one, or another scheme, and 200 with it', async () => {
    const get = (authorization?: string) => fetch(`${guarded}/metrics`, authorization === undefined ? {} : { headers: { authorization } });
    for (const authorization of [
      undefined,
      'Bearer ',
      `Bearer ${METRICS_TOKEN.slice(0, -1)}x`,
      `Bearer ${METRICS_TOKEN}x`,
      `Basic ${Buffer.from(`metrics:${METRICS_TOKEN}`).toString('base64')}`,
      METRICS_TOKEN,
    ]) {
      const response = await get(authorization);
      expect(response.status, String(authorization)).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await response.text()).not.toContain('gateway_');
    }
    const allowed = await get(`Bearer ${METRICS_TOKEN}`);
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('gateway_readiness_checks_total');
    // Health stays open to probes.
    expect((await fetch(`${guarded}/readyz`)).status).toBe(200);
  });

  it("should label a durable group's lag with a stable hash, never with the caller's sub", async () => {
    const sub = uniqueName('carol').replaceAll('_', '-');
    const caller = await token({ sub, scope: ['accounts:write', 'orders:write', 'orders:read:all'] });
    const account = uniqueName('acc');
    await openFundedAccount(guarded, caller, account, 1_000n);
    const subscriberId = uniqueName('ledger');
    const subscriber = track(subscribe(guarded, caller, { filter: { accountId: account }, subscriberId }));
    await untilLive([subscriber], async (i) => {
      await graphql(guarded, PLACE, { input: orderInput(account, 1, `hashed-warm-${i}`) }, caller);
    });
    const label = groupLabeler('hashed', groupLabelKey(TEST_SECRET))(durableGroupId(guardedPrefix, sub, subscriberId));
    expect(label).toMatch(/^[0-9a-f]{12}$/);
    const lagSample = await waitFor('the hashed group to be listed', async () => {
      const samples = await scrape(guarded, METRICS_TOKEN);
      return sampleValue(samples, 'gateway_consumer_group_lag', { group: String(label) }) === undefined ? undefined : samples;
    });
    expect(lagSample.filter((s) => s.name === 'gateway_consumer_group_lag').map((s) => s.labels.group)).toEqual([label]);
    const text = await (await fetch(`${guarded}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    expect(text).not.toContain(sub);
    expect(text).not.toContain(subscriberId);
  });
});
