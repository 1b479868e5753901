import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, startInProcessGateway, token } from '../support/gateway.js';
import { sampleValue, scrape } from '../support/metrics.js';
import { ACCOUNT, openFundedAccount, orderInput, PLACE, placeOrdersOn } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { openSse, type SseStream, sseClientSubscribe } from '../support/sse.js';
import { ORDER_SETTLED, type SettledEvent } from '../support/subscriber.js';
import { testGatewayEnv } from '../support/test-env.js';

// GraphQL over Server-Sent Events (CONTRACT.md): delivery to graphql-sse's own client and to a raw EventSource-style
// reader, id lines, keep-alive comments, queries and mutations, expiry, and a client that goes away mid-stream.

const KEEPALIVE_MS = 300;
const cleanups = cleanupList();
let url: string;
let admin: string;

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'sse-delivery', { SSE_KEEPALIVE_MS: String(KEEPALIVE_MS) });
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
});

afterAll(() => cleanups.run());

const placeOrders = (account: string, count: number, keyPrefix: string) => placeOrdersOn(url, admin, account, count, keyPrefix);

async function fundedAccount(): Promise<string> {
  const account = uniqueName('acc');
  await openFundedAccount(url, admin, account, 1_000_000n);
  return account;
}

async function stream(request: Parameters<typeof openSse>[1]): Promise<SseStream> {
  const opened = await openSse(url, request);
  cleanups.push(() => opened.close());
  return opened;
}

/** Places one more order and waits until `events` holds it: every earlier order of the account was delivered by then. */
async function placeSentinel(events: () => readonly SettledEvent[], account: string): Promise<string> {
  const [id] = await placeOrders(account, 1, uniqueName('sentinel'));
  await waitFor('the sentinel order', () => (events().some((e) => e.order.id === id) ? true : undefined));
  return id as string;
}

/** An orderSettled subscription request reading every field of the event, with these arguments. */
const orderSettledRequest = (variables: Record<string, unknown>) => ({ query: ORDER_SETTLED, variables });

const activeSubscriptions = async () => sampleValue(await scrape(url), 'gateway_subscriptions_active') ?? 0;

describe('GraphQL over SSE', () => {
  it('should end the subscription of a client that disconnects mid-stream, with what was written committed', async () => {
    const account = await fundedAccount();
    const subscriberId = uniqueName('leaver');
    const leaver = await token({ sub: 'sse-leaver', scope: ['orders:read:all'] });
    // First in the file: no other subscription is open on this gateway.
    const baseline = await activeSubscriptions();
    const written = await placeOrders(account, 5, 'written');
    const first = await stream({
      bearer: leaver,
      ...orderSettledRequest({ filter: { accountId: account }, subscriberId, start: 'EARLIEST' }),
    });
    await first.received(5);
    expect(await activeSubscriptions()).toBe(baseline + 1);
    first.close();
    await waitFor('the gateway to end the subscription of the closed stream', async () =>
      (await activeSubscriptions()) === baseline ? true : undefined,
    );

    const rest = await placeOrders(account, 3, 'rest');
    const again = await stream({
      bearer: leaver,
      ...orderSettledRequest({ filter: { accountId: account }, subscriberId, start: 'COMMITTED' }),
    });
    await again.received(3);
    const sentinel = await placeSentinel(() => again.events, account);
    expect(first.events.map((e) => e.order.id)).toEqual(written);
    expect(again.events.map((e) => e.order.id)).toEqual([...rest, sentinel]);
    again.close();
  });

  it("should deliver a durable orderSettled subscription to graphql-sse's own client, every order once and in order", async () => {
    const account = await fundedAccount();
    const before = await placeOrders(account, 3, 'before');
    const subscription = sseClientSubscribe(url, admin, {
      filter: { accountId: account },
      subscriberId: uniqueName('sse-client'),
      start: 'EARLIEST',
    });
    cleanups.push(() => subscription.close());
    await subscription.received(3);
    const after = await placeOrders(account, 3, 'after');
    const sentinel = await placeSentinel(() => subscription.events, account);
    expect(subscription.events.map((e) => e.order.id)).toEqual([...before, ...after, sentinel]);
    expect(subscription.events[0]).toMatchObject({ order: { accountId: account, amount: '1', currency: 'USD' } });
    expect(subscription.errors).toEqual([]);
    expect(subscription.completed).toBe(false);
    subscription.close();
  });

  it('should answer a query and a mutation over SSE with one next and complete, through graphql-sse and raw', async () => {
    const account = await fundedAccount();
    const viaClient = sseClientSubscribe<{ id: string; balance: string }>(url, admin, { id: account }, ACCOUNT, 'account');
    cleanups.push(() => viaClient.close());
    await waitFor('the query to complete', () => (viaClient.completed ? true : undefined));
    expect(viaClient.events).toEqual([{ id: account, balance: '1000000' }]);
    expect(viaClient.errors).toEqual([]);

    const placed = await stream({
      query: PLACE,
      variables: { input: orderInput(account, 7, uniqueName('sse-mutation')) },
      bearer: admin,
      field: 'placeOrder',
    });
    await placed.untilCompleted();
    expect(placed.status).toBe(200);
    expect(placed.messages.map((m) => m.event)).toEqual(['next', 'complete']);
    expect(placed.events).toHaveLength(1);
    expect(placed.events[0]).toMatchObject({ accountId: account, amount: '7', balanceAfter: '999993' });

    const queried = await stream({ method: 'GET', query: ACCOUNT, variables: { id: account }, bearer: admin, field: 'account' });
    await queried.untilCompleted();
    expect(queried.messages.map((m) => m.event)).toEqual(['next', 'complete']);
    expect(queried.events).toEqual([{ id: account, balance: '999993' }]);
    // Only a declared-topic event has a resume id.
    expect([...placed.messages, ...queried.messages].filter((m) => m.id !== undefined)).toEqual([]);
  });

  it('should send the headers at once, before any event, and a keep-alive comment every SSE_KEEPALIVE_MS', async () => {
    const account = await fundedAccount();
    // No order exists for this account: openSse resolving at all means the headers came before any event.
    const quiet = await stream({ bearer: admin, ...orderSettledRequest({ filter: { accountId: account } }) });
    expect(quiet.status).toBe(200);
    expect(String(quiet.headers['content-type'])).toMatch(/^text\/event-stream/);
    expect(quiet.messages).toEqual([]);
    const opened = Date.now();
    await waitFor('three keep-alive comments', () => (quiet.comments.length >= 3 ? true : undefined), 10_000);
    // Three comments cannot come sooner than two intervals apart from the first.
    expect(Date.now() - opened).toBeGreaterThanOrEqual(2 * KEEPALIVE_MS - 50);
    expect(quiet.messages).toEqual([]);
    expect(quiet.ended).toBe(false);
    quiet.close();
  });

  it('should stream to an EventSource-style GET with access_token, each event with its cursor as id', async () => {
    const account = await fundedAccount();
    const placed = await placeOrders(account, 3, 'get');
    const reader = await stream({
      method: 'GET',
      accessToken: admin,
      ...orderSettledRequest({ filter: { accountId: account }, subscriberId: uniqueName('event-source'), start: 'EARLIEST' }),
    });
    expect(reader.status).toBe(200);
    expect(String(reader.headers['content-type'])).toMatch(/^text\/event-stream/);
    await reader.received(3);
    const sentinel = await placeSentinel(() => reader.events, account);
    expect(reader.events.map((e) => e.order.id)).toEqual([...placed, sentinel]);
    expect(reader.eventIds).toEqual(reader.events.map((e) => e.cursor));
    expect(reader.messages.every((m) => m.event === 'next')).toBe(true);
    expect(reader.errors).toEqual([]);
    reader.close();
  });

  it('should end a stream at token expiry with UNAUTHENTICATED then complete; a fresh token and Last-Event-ID miss nothing', async () => {
    const account = await fundedAccount();
    const first = await placeOrders(account, 2, 'before-expiry');
    const brief = await token({ sub: 'sse-brief', scope: ['orders:read:all'], expiresInSeconds: 5 });
    const expiring = await stream({ bearer: brief, ...orderSettledRequest({ filter: { accountId: account }, start: 'EARLIEST' }) });
    await expiring.received(2);
    await expiring.untilCompleted(15_000);
    const tail = expiring.messages.slice(-2);
    expect(tail.map((m) => m.event)).toEqual(['next', 'complete']);
    expect((JSON.parse(tail[0]!.data) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe(
      'UNAUTHENTICATED',
    );
    expect(expiring.events.map((e) => e.order.id)).toEqual(first);
    await waitFor('the gateway to end the response', () => (expiring.ended ? true : undefined), 5000);

    const whileAway = await placeOrders(account, 2, 'after-expiry');
    const fresh = await token({ sub: 'sse-brief', scope: ['orders:read:all'] });
    const resumed = await stream({
      bearer: fresh,
      lastEventId: expiring.eventIds.at(-1),
      ...orderSettledRequest({ filter: { accountId: account } }),
    });
    expect(resumed.status).toBe(200);
    await resumed.received(2);
    const sentinel = await placeSentinel(() => resumed.events, account);
    expect(resumed.events.map((e) => e.order.id)).toEqual([...whileAway, sentinel]);
    resumed.close();
  });
});
