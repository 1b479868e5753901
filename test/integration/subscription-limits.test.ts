import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, graphql, startInProcessGateway, token } from '../support/gateway.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { type Connection, connect, type Subscriber } from '../support/subscriber.js';
import { testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let url: string;
let admin: string;
let account: string;

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'limits', {
    SUBSCRIPTIONS_PER_SOCKET: '3',
    SUBSCRIPTIONS_PER_CALLER: '5',
    WS_KEEPALIVE_MS: '300',
  });
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
  // One settled order that every EARLIEST subscription below must receive.
  account = uniqueName('acc');
  await openFundedAccount(url, admin, account, 1000n);
  const placed = await graphql(url, PLACE, { input: orderInput(account, 1, uniqueName('key')) }, admin);
  expect(placed.errors).toBeUndefined();
});

afterAll(() => cleanups.run());

const gauge = async (name: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
};

function open(bearer: string): Connection {
  const connection = connect(url, bearer, { lazy: false });
  cleanups.push(() => connection.close());
  return connection;
}

const settledOnce = (connection: Connection): Subscriber => connection.subscribe({ filter: { accountId: account }, start: 'EARLIEST' });
const refusedCode = async (subscriber: Subscriber) =>
  (await waitFor('the refusal', () => (subscriber.errors.length > 0 ? subscriber.errors : undefined)))[0]?.extensions?.code;

describe('subscription limits and keep-alive', () => {
  it('should refuse a subscription over the per-socket limit with TOO_MANY_SUBSCRIPTIONS, keeping the socket and the others', async () => {
    const connection = open(await token({ sub: 'one-socket', scope: ['orders:read:all'] }));
    const admitted = [settledOnce(connection), settledOnce(connection), settledOnce(connection)];
    for (const subscriber of admitted) await subscriber.received(1);
    const fourth = settledOnce(connection);
    expect(await refusedCode(fourth)).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(fourth.events).toHaveLength(0);
    expect(connection.closeCodes).toEqual([]);

    // Completing one frees its place on the same socket.
    await admitted[0]!.close();
    const replacement = settledOnce(connection);
    await replacement.received(1);
    expect(replacement.errors).toEqual([]);
  });

  it('should refuse a caller its subscription over the per-caller limit on any socket, and admit it again once one ends', async () => {
    const bearer = await token({ sub: 'many-sockets', scope: ['orders:read:all'] });
    const [first, second, third] = [open(bearer), open(bearer), open(bearer)];
    const admitted = [settledOnce(first), settledOnce(first), settledOnce(first), settledOnce(second), settledOnce(second)];
    for (const subscriber of admitted) await subscriber.received(1);
    const sixth = settledOnce(third);
    expect(await refusedCode(sixth)).toBe('TOO_MANY_SUBSCRIPTIONS');
    // Another caller is not affected.
    const other = settledOnce(open(await token({ sub: 'someone-else', scope: ['orders:read:all'] })));
    await other.received(1);

    const sockets = await gauge('gateway_websocket_connections');
    await first.close();
    await waitFor('the gateway to see the socket closed', async () =>
      (await gauge('gateway_websocket_connections')) < sockets ? true : undefined,
    );
    const again = settledOnce(third);
    await again.received(1);
    expect(again.errors).toEqual([]);
  });

  it('should close a socket whose peer stops answering pings, ending its subscriptions, and keep the ones that answer', async () => {
    // Sockets are pinged in turns spread over the interval: several, so that both are in different turns.
    const answering: Connection[] = [];
    for (let i = 0; i < 4; i++) answering.push(open(await token({ sub: `answering-${i}`, scope: ['orders:read:all'] })));
    for (const peer of answering) await settledOnce(peer).received(1);
    const before = await gauge('gateway_subscriptions_active');
    const connection = open(await token({ sub: 'vanishing', scope: ['orders:read:all'] }));
    await settledOnce(connection).received(1);
    expect(await gauge('gateway_subscriptions_active')).toBe(before + 1);
    // Reading nothing, the client cannot answer pings: a peer that went away without closing.
    connection.pauseReading();
    await waitFor('the gateway to end the dead peer subscription', async () =>
      (await gauge('gateway_subscriptions_active')) === before ? true : undefined,
    );
    connection.resumeReading();
    await waitFor('the client to see its socket closed', () => (connection.closeCodes.length > 0 ? true : undefined));
    expect(connection.closeCodes[0]).toBe(1006);
    // The answering peers went through the same pings and are still subscribed.
    expect(answering.map((peer) => peer.closeCodes.length)).toEqual([0, 0, 0, 0]);
    expect(await gauge('gateway_subscriptions_active')).toBe(before);
  });
});
