import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicSubscriptionQuery } from '../../examples/support/gateway-subscriptions.js';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, startInProcessGateway, TEST_SECRET, token } from '../support/gateway.js';
import { openFundedAccount, placeOrdersOn } from '../support/orders.js';
import { createTestTopic, testKafka, uniqueName, waitFor } from '../support/resources.js';
import { openSse, type SseRequest, type SseStream, sseRefusal } from '../support/sse.js';
import { connect, ORDER_SETTLED, type Subscriber } from '../support/subscriber.js';
import { testGatewayEnv } from '../support/test-env.js';

// Requests an SSE stream must refuse before it begins (CONTRACT.md, "GraphQL over Server-Sent Events"): the usual
// JSON error answer with the contract's code and status, and the per-caller subscription limit counted across SSE
// and websockets together.

const PER_CALLER = 3;
const TOPUPS_SDL = fileURLToPath(new URL('../../examples/topups.graphql', import.meta.url));
const cleanups = cleanupList();
let url: string;
let admin: string;
let account: string;
let topupsTopic: string;

beforeAll(async () => {
  // A second declared topic, so that a cursor of another topic exists to be refused.
  const topups = await createTestTopic(1);
  cleanups.push(topups.remove);
  topupsTopic = topups.topic;
  const env = await testGatewayEnv(cleanups, 'sse-refusals', {
    SUBSCRIPTIONS_PER_CALLER: String(PER_CALLER),
    SCHEMA_PATHS: TOPUPS_SDL,
    TOPUPS_TOPIC: topupsTopic,
  });
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
  // One settled order that every EARLIEST subscription below receives.
  account = uniqueName('acc');
  await openFundedAccount(url, admin, account, 1000n);
  await placeOrdersOn(url, admin, account, 1, uniqueName('seed'));
});

afterAll(() => cleanups.run());

const settled = (variables: Record<string, unknown> = { filter: { accountId: account }, start: 'EARLIEST' }): SseRequest => ({
  query: ORDER_SETTLED,
  variables,
});

async function stream(request: SseRequest): Promise<SseStream> {
  const opened = await openSse(url, request);
  cleanups.push(() => opened.close());
  return opened;
}

/** The first cursor `bearer` gets on orderSettled for `account`. */
async function cursorOf(bearer: string): Promise<string> {
  const reader = await stream({ bearer, ...settled() });
  const [event] = await reader.received(1);
  reader.close();
  return event!.cursor;
}

async function expectRefused(request: SseRequest, status: number, code: string): Promise<void> {
  const refusal = await sseRefusal(url, request);
  expect({ status: refusal.status, code: refusal.code, body: refusal.body }).toMatchObject({ status, code });
  expect(refusal.contentType).toMatch(/^application\/json/);
}

describe('SSE requests refused before the stream begins', () => {
  it('should answer 401 UNAUTHENTICATED without a valid token, and take access_token on GET streams only', async () => {
    const expired = await token({ sub: 'late', scope: ['orders:read:all'], expiresInSeconds: -5 });
    const foreign = await token({ sub: 'admin', scope: ['orders:read:all'] }, `${TEST_SECRET}-of-someone-else`);
    for (const method of ['POST', 'GET'] as const) {
      await expectRefused({ method, ...settled() }, 401, 'UNAUTHENTICATED');
      for (const bearer of ['garbage', expired, foreign]) await expectRefused({ method, bearer, ...settled() }, 401, 'UNAUTHENTICATED');
    }
    await expectRefused({ method: 'GET', accessToken: expired, ...settled() }, 401, 'UNAUTHENTICATED');
    await expectRefused({ method: 'POST', accessToken: admin, ...settled() }, 401, 'UNAUTHENTICATED');

    const viaQuery = await stream({ method: 'GET', accessToken: admin, ...settled() });
    expect(viaQuery.status).toBe(200);
    await viaQuery.received(1);
    viaQuery.close();
  });

  it('should answer 403 FORBIDDEN to a caller without the right to the subscription', async () => {
    const holder = await token({ sub: 'holder', scope: [], accounts: [account] });
    await expectRefused({ bearer: holder, ...settled({}) }, 403, 'FORBIDDEN');
    await expectRefused({ bearer: holder, ...settled({ filter: { accountId: 'someone-else' } }) }, 403, 'FORBIDDEN');
    await expectRefused({ method: 'GET', accessToken: holder, ...settled({ filter: { accountId: 'someone-else' } }) }, 403, 'FORBIDDEN');
    // Its own account it may follow.
    const own = await stream({ bearer: holder, ...settled() });
    expect(own.status).toBe(200);
    await own.received(1);
    own.close();
  });

  it("should answer 400 BAD_USER_INPUT to a Last-Event-ID that was tampered with, is another caller's or another topic's", async () => {
    const cursor = await cursorOf(admin);
    const tampered = `${cursor.slice(0, -2)}${cursor.endsWith('AA') ? 'BB' : 'AA'}`;
    const bob = await token({ sub: 'bob', scope: ['orders:read:all'] });
    // The admin token's sub, on the topups topic.
    const topupCursor = await topupCursorOf('admin');
    for (const [bearer, lastEventId] of [
      [admin, tampered],
      [admin, 'not-a-cursor'],
      [bob, cursor],
      [admin, topupCursor],
    ] as const) {
      await expectRefused({ bearer, lastEventId, ...settled({ filter: { accountId: account } }) }, 400, 'BAD_USER_INPUT');
    }
    // The same cursor, from its own caller and topic, is taken.
    const resumed = await stream({ bearer: admin, lastEventId: cursor, ...settled({ filter: { accountId: account } }) });
    expect(resumed.status).toBe(200);
    resumed.close();
  });

  it('should answer 400 BAD_USER_INPUT to both a Last-Event-ID and afterCursor', async () => {
    const cursor = await cursorOf(admin);
    await expectRefused(
      { bearer: admin, lastEventId: cursor, ...settled({ filter: { accountId: account }, afterCursor: cursor }) },
      400,
      'BAD_USER_INPUT',
    );
    await expectRefused(
      { method: 'GET', accessToken: admin, lastEventId: cursor, ...settled({ filter: { accountId: account }, afterCursor: cursor }) },
      400,
      'BAD_USER_INPUT',
    );
  });
});

describe('the per-caller subscription limit over SSE and websockets together', () => {
  it('should count SSE streams and websocket subscriptions toward one limit, and admit again once either ends', async () => {
    const bearer = await token({ sub: 'limited', scope: ['orders:read:all'] });
    // Requests refused after admission (a bad Last-Event-ID) give their place back: more of them than the limit first.
    for (let i = 0; i <= PER_CALLER; i++) {
      await expectRefused({ bearer, lastEventId: 'not-a-cursor', ...settled({ filter: { accountId: account } }) }, 400, 'BAD_USER_INPUT');
    }
    const connection = connect(url, bearer, { lazy: false });
    cleanups.push(() => connection.close());
    const overWebsocket: Subscriber[] = [connection.subscribe(settled().variables), connection.subscribe(settled().variables)];
    for (const subscriber of overWebsocket) await subscriber.received(1);
    const overSse = await stream({ bearer, ...settled() });
    expect(overSse.status).toBe(200);
    await overSse.received(1);

    // At the limit: a fourth is refused on either transport.
    await expectRefused({ bearer, ...settled() }, 429, 'TOO_MANY_SUBSCRIPTIONS');
    const fourthOverWebsocket = connection.subscribe(settled().variables);
    await waitFor('the websocket refusal', () => (fourthOverWebsocket.errors.length > 0 ? true : undefined));
    expect(fourthOverWebsocket.errors[0]?.extensions?.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    // Another caller is not affected.
    const other = await stream({ bearer: await token({ sub: 'not-limited', scope: ['orders:read:all'] }), ...settled() });
    expect(other.status).toBe(200);
    other.close();

    // The SSE client goes away: its place is free for a websocket subscription.
    overSse.close();
    const admittedOverWebsocket = await waitFor('a websocket subscription to be admitted again', async () => {
      const attempt = connection.subscribe(settled().variables);
      await waitFor('an event or a refusal', () => (attempt.events.length > 0 || attempt.errors.length > 0 ? true : undefined));
      return attempt.events.length > 0 ? attempt : undefined;
    });
    expect(admittedOverWebsocket.errors).toEqual([]);
    await expectRefused({ bearer, ...settled() }, 429, 'TOO_MANY_SUBSCRIPTIONS');

    // A websocket subscription ends: its place is free for an SSE stream.
    await overWebsocket[0]!.close();
    const admittedOverSse = await waitFor('an SSE stream to be admitted again', async () => {
      const attempt = await openSse(url, { bearer, ...settled() });
      if (attempt.status === 200) return attempt;
      attempt.close();
      return undefined;
    });
    cleanups.push(() => admittedOverSse.close());
    await admittedOverSse.received(1);
    admittedOverSse.close();
    await connection.close();
  });
});

/** Publishes one completed top-up to the declared topups topic and returns the cursor caller `sub` gets for it over SSE. */
async function topupCursorOf(sub: string): Promise<string> {
  const bearer = await token({ sub, scope: ['topups:read:all'] });
  const producer = testKafka().producer();
  await producer.connect();
  try {
    const topupId = uniqueName('topup');
    await producer.send({
      topic: topupsTopic,
      messages: [
        {
          key: account,
          value: JSON.stringify({
            specversion: '1.0',
            id: topupId,
            type: 'topup.completed',
            source: 'sse-refusals-test',
            datacontenttype: 'application/json',
            data: {
              topupId,
              orderId: uniqueName('order'),
              accountId: account,
              phone: '+15550100',
              amount: '100',
              status: 'DONE',
              completedAt: new Date().toISOString(),
            },
          }),
        },
      ],
    });
  } finally {
    await producer.disconnect();
  }
  const reader = await openSse<{ cursor: string }>(url, {
    bearer,
    field: 'topupCompleted',
    query: topicSubscriptionQuery('topupCompleted', 'TopUpFilter', 'eventId cursor topup { topupId }'),
    variables: { filter: { accountId: account }, start: 'EARLIEST' },
  });
  cleanups.push(() => reader.close());
  const [event] = await reader.received(1);
  reader.close();
  return event!.cursor;
}
