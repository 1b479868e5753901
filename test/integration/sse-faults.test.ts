import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, graphql, startInProcessGateway, token } from '../support/gateway.js';
import { sampleValue, scrape } from '../support/metrics.js';
import { OPEN, openFundedAccount, placeOrdersOn } from '../support/orders.js';
import { observeFor, uniqueName, waitFor } from '../support/resources.js';
import { openSse, sseRefusal } from '../support/sse.js';
import { ORDER_SETTLED } from '../support/subscriber.js';
import { testGatewayEnv } from '../support/test-env.js';

// What an SSE client can do to the gateway that a websocket cannot: write through a link, go away before its stream
// starts, reconnect to the URL it opened (as EventSource does) with Last-Event-ID added.
const cleanups = cleanupList();
let url: string;
let admin: string;
beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'sse-faults', { SUBSCRIPTIONS_PER_CALLER: '3' });
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
});
afterAll(() => cleanups.run());
const active = async () => sampleValue(await scrape(url), 'gateway_subscriptions_active') ?? 0;

describe('GraphQL over SSE at its edges', () => {
  it('should refuse a mutation over a GET event stream with 405, as plain GET /graphql does, executing nothing', async () => {
    const id = uniqueName('acc');
    const refusal = await sseRefusal(url, {
      method: 'GET',
      accessToken: admin,
      field: 'openAccount',
      query: OPEN,
      variables: { input: { id, owner: 'o', currency: 'USD' } },
    });
    expect(refusal.status).toBe(405);
    const account = await graphql(url, 'query($id: ID!) { account(id: $id) { id } }', { id }, admin);
    expect(account.data?.account ?? null).toBeNull();
  });

  it('should end the subscription of a client that goes away before its stream starts, and give its place back', async () => {
    const bearer = await token({ sub: 'abandoner', scope: ['orders:read:all'] });
    const body = JSON.stringify({ query: ORDER_SETTLED, variables: { filter: { accountId: 'no-orders-here' } } });
    // Closed within 0-5 ms of sending: some close while the gateway authenticates and prepares, before pump() listens for 'close'.
    for (let round = 0; round < 5; round++) {
      for (const delay of [0, 1, 2, 3, 4, 5]) {
        const request = http.request(`${url}/graphql`, {
          method: 'POST',
          agent: false,
          headers: { accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
        });
        request.on('error', () => {});
        request.end(body);
        setTimeout(() => request.destroy(), delay);
      }
    }
    // Every request reached the gateway and was dealt with well within this; a watch, not a wait for a condition.
    await observeFor(2000);
    await waitFor('every abandoned subscription to end', async () => ((await active()) === 0 ? true : undefined), 15_000);
    const streams = [];
    for (let i = 0; i < 3; i++)
      streams.push(await openSse(url, { bearer, query: ORDER_SETTLED, variables: { filter: { accountId: 'no-orders-here' } } }));
    for (const stream of streams) stream.close();
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200]);
  });

  it('should resume an EventSource reconnect (its URL asked for EARLIEST) right after Last-Event-ID, not refuse it', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 100_000n);
    const placed = await placeOrdersOn(url, admin, account, 4, uniqueName('o'));
    const opened = {
      method: 'GET',
      accessToken: admin,
      query: ORDER_SETTLED,
      variables: { filter: { accountId: account }, start: 'EARLIEST' },
    } as const;
    const first = await openSse(url, opened);
    const events = await first.received(4);
    first.close();
    expect(events.map((e) => e.order.id)).toEqual(placed);
    const reconnect = await openSse(url, { ...opened, lastEventId: first.eventIds[1] });
    expect(reconnect.status).toBe(200);
    expect((await reconnect.received(2)).map((e) => e.order.id)).toEqual(placed.slice(2));
    reconnect.close();
  });
});
