import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, startInProcessGateway, token } from '../support/gateway.js';
import { openFundedAccount, placeOrdersOn } from '../support/orders.js';
import { observeFor, testKafka, uniqueName, waitFor } from '../support/resources.js';
import { connect, type Subscriber, subscribe, untilLive } from '../support/subscriber.js';
import { orderSettledScenarios } from '../support/subscription-scenarios.js';
import { testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let prefix: string;
let topic: string;
let url: string;
let admin: string;
let gateway: Awaited<ReturnType<typeof startInProcessGateway>>;

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'subscriptions');
  prefix = env.KAFKA_GROUP_PREFIX;
  topic = env.ORDERS_TOPIC;
  gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
});

afterAll(() => cleanups.run());

const track = (subscriber: Subscriber) => {
  cleanups.push(() => subscriber.close());
  return subscriber;
};

const placeOrders = (account: string, count: number, keyPrefix: string) => placeOrdersOn(url, admin, account, count, keyPrefix);

const groupsWithPrefix = async (groupPrefix: string) => {
  const kafkaAdmin = testKafka().admin();
  await kafkaAdmin.connect();
  try {
    return (await kafkaAdmin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(groupPrefix));
  } finally {
    await kafkaAdmin.disconnect();
  }
};

describe('orderSettled over graphql-ws', () => {
  orderSettledScenarios(() => ({ url, admin, cleanups }));

  it('should refuse bad arguments and missing rights for that subscription only, keeping the socket usable', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1000n);
    await placeOrders(account, 1, 'seen');
    const holder = await token({ sub: 'alice', scope: [], accounts: [account] });
    const dotted = await token({ sub: 'team.ops', scope: ['orders:read:all'] });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ subscriberId: 'x' }, dotted, 'FORBIDDEN'],
      [{ filter: { accountId: account }, start: 'EARLIEST', since: '2026-01-01T00:00:00.000Z' }, admin, 'BAD_USER_INPUT'],
      [{ filter: { accountId: account }, afterCursor: 'not-a-cursor' }, admin, 'BAD_USER_INPUT'],
      [{ subscriberId: 'bad id with spaces' }, admin, 'BAD_USER_INPUT'],
      [{ filter: { currency: 'usd' } }, admin, 'BAD_USER_INPUT'],
      [{}, holder, 'FORBIDDEN'],
      [{ filter: { accountId: 'someone-else' } }, holder, 'FORBIDDEN'],
    ];
    for (const [variables, bearer, code] of cases) {
      const connection = connect(url, bearer, { lazy: false });
      cleanups.push(() => connection.close());
      const refused = connection.subscribe(variables);
      await waitFor(`error ${code} for ${JSON.stringify(variables)}`, () => (refused.errors.length > 0 ? true : undefined));
      expect(refused.errors[0]?.extensions?.code).toBe(code);
      // The same socket still serves a subscription the caller may have.
      const allowed = connection.subscribe({ filter: { accountId: account }, start: 'EARLIEST' });
      await allowed.received(1);
      expect(connection.closeCodes).toEqual([]);
    }
  });

  it('should end only the operation that fails to parse, validate or stay within the limits, with its code', async () => {
    const connection = connect(url, admin, { lazy: false });
    cleanups.push(() => connection.close());
    const cases: [string, string][] = [
      ['subscription { orderSettled { order { id }', 'GRAPHQL_PARSE_FAILED'],
      ['subscription { orderSettled { nope } }', 'GRAPHQL_VALIDATION_FAILED'],
      [
        `query { ${Array.from({ length: 20 }, (_, i) => `o${i}: orders(accountId: "a", first: 100) { edges { node { id } } }`).join(' ')} }`,
        'QUERY_TOO_COMPLEX',
      ],
    ];
    for (const [query, code] of cases) {
      const refused = connection.run(query);
      await waitFor(`error ${code}`, () => (refused.errors.length > 0 ? true : undefined));
      expect(refused.errors[0]?.extensions?.code).toBe(code);
    }
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1000n);
    await placeOrders(account, 1, 'after-refusals');
    const allowed = connection.subscribe({ filter: { accountId: account }, start: 'EARLIEST' });
    await allowed.received(1);
    expect(connection.closeCodes).toEqual([]);
  });

  it('should refuse a cursor that was tampered with or belongs to another caller', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1000n);
    await placeOrders(account, 1, 'c');
    const bob = await token({ sub: 'bob', scope: ['orders:read:all'] });
    const history = track(subscribe(url, bob, { filter: { accountId: account }, start: 'EARLIEST' }));
    const [event] = await history.received(1);
    const cursor = event!.cursor;
    const tampered = `${cursor.slice(0, -2)}${cursor.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const [bearer, afterCursor] of [
      [bob, tampered],
      [admin, cursor],
    ] as const) {
      const subscriber = track(subscribe(url, bearer, { filter: { accountId: account }, afterCursor }));
      await waitFor('the cursor to be refused', () => (subscriber.errors.length > 0 ? true : undefined));
      expect(subscriber.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('should end the subscription and close the socket when the token expires', async () => {
    const shortLived = await token({ sub: 'brief', scope: ['orders:read:all'], expiresInSeconds: 6 });
    const subscriber = track(subscribe(url, shortLived, { subscriberId: uniqueName('brief') }));
    const kafkaAdmin = testKafka().admin();
    await kafkaAdmin.connect();
    try {
      // The subscription's own durable group holds its offsets from the start.
      const kafkaGroups = await waitFor('the subscription to hold its group', async () => {
        const found = await groupsWithPrefix(`${prefix}.brief.`);
        return found.length === 1 ? found : undefined;
      });
      const [offsets] = await kafkaAdmin.fetchOffsets({ groupId: kafkaGroups[0]!, topics: [topic] });
      // Every partition of the topic (ORDERS_TOPIC_PARTITIONS, 6 by default) has a committed offset (not -1):
      // `every` alone would also pass on an empty list.
      expect(offsets!.partitions.map((p) => BigInt(p.offset) >= 0n)).toEqual(Array(6).fill(true));
      await waitFor('the socket to close at expiry', () => (subscriber.closeCodes.length > 0 ? true : undefined), 15_000);
      expect(subscriber.closeCodes[0]).toBe(4401);
      // The durable group stays: its offsets are the subscriber's.
      expect(await groupsWithPrefix(`${prefix}.brief.`)).toEqual(kafkaGroups);
    } finally {
      await kafkaAdmin.disconnect();
    }
  });

  it('should commit no event sent while the socket was closing: a stalled client whose token expired misses none', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000_000n);
    const subscriberId = uniqueName('stalled');
    // Long enough to join and see a warm-up order on a busy machine before it expires.
    const expiresAt = Date.now() + 8000;
    const connection = connect(url, await token({ sub: 'stalled', scope: ['orders:read:all'], expiresInSeconds: 8 }));
    cleanups.push(() => connection.close());
    const stalled = connection.subscribe({ filter: { accountId: account }, subscriberId });
    await untilLive([stalled], (i) => placeOrders(account, 1, `warm-${i}`).then(() => {}));

    // The client stops reading. Orders keep settling through the expiry, so the gateway hands some to the socket
    // while it is open, then tries to while the close handshake waits on the client.
    connection.pauseReading();
    const placed: string[] = [];
    for (let i = 0; Date.now() < expiresAt + 2000; i++) {
      placed.push(...(await placeOrders(account, 1, `flow-${i}`)));
      await observeFor(40); // paces the orders, so what is written fits in the socket buffers
    }
    connection.resumeReading();
    await waitFor('the socket to close at expiry', () => (connection.closeCodes.length > 0 ? true : undefined));
    expect(connection.closeCodes[0]).toBe(4401);

    const resumed = track(
      subscribe(url, await token({ sub: 'stalled', scope: ['orders:read:all'] }), { filter: { accountId: account }, subscriberId }),
    );
    const seen = () => new Set([...stalled.events, ...resumed.events].map((e) => e.order.id));
    await waitFor(
      `all ${placed.length} orders across both connections (have ${placed.filter((id) => seen().has(id)).length})`,
      () => (placed.every((id) => seen().has(id)) ? true : undefined),
      20_000,
    );
  });

  it('should answer a websocket upgrade with a request line that is not a URL with 404, and keep serving', async () => {
    const { port } = new URL(url);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: Number(port) }, () => {
        socket.write(
          'GET http://[/graphql HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
      });
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString();
      });
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 404/);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('should close the socket with 4401 at connection_init without a valid token', async () => {
    for (const bearer of [null, 'garbage', await token({ sub: 'x', scope: ['orders:read:all'], expiresInSeconds: -5 })]) {
      const subscriber = track(subscribe(url, bearer, {}));
      await waitFor('the socket to close', () => (subscriber.closeCodes.length > 0 ? true : undefined));
      expect(subscriber.closeCodes[0]).toBe(4401);
      expect(subscriber.events).toHaveLength(0);
    }
  });

  it('should delete an ephemeral group once its subscription ends, and leave nothing behind after 200 cycles', async () => {
    const gauge = async (name: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1]);
    };
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1000n);
    // Subscriptions of earlier tests stay open until afterAll: count relative to them.
    const subscriptionsBefore = await gauge('gateway_subscriptions_active');
    const socketsBefore = await gauge('gateway_websocket_connections');
    const groupsBefore = new Set(await groupsWithPrefix(`${prefix}.ephemeral.`));
    const newGroups = async () => (await groupsWithPrefix(`${prefix}.ephemeral.`)).filter((g) => !groupsBefore.has(g)).length;
    const rssBefore = process.memoryUsage().rss;
    for (let round = 0; round < 20; round++) {
      const subscribers = Array.from({ length: 10 }, () => subscribe(url, admin, { filter: { accountId: account } }));
      await waitFor('10 subscriptions to open', async () =>
        (await gauge('gateway_subscriptions_active')) === subscriptionsBefore + 10 ? true : undefined,
      );
      // Their consumers really joined: each has its group on the broker.
      await waitFor('10 ephemeral groups to exist', async () => ((await newGroups()) === 10 ? true : undefined));
      await Promise.all(subscribers.map((s) => s.close()));
      await waitFor('their groups to be deleted', async () => ((await newGroups()) === 0 ? true : undefined));
    }
    await waitFor('every subscription to end', async () =>
      (await gauge('gateway_subscriptions_active')) === subscriptionsBefore ? true : undefined,
    );
    await waitFor('every socket to close', async () =>
      (await gauge('gateway_websocket_connections')) === socketsBefore ? true : undefined,
    );
    const grownMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    // Generous, as this process also runs the test's clients; a consumer leaked per cycle would cost far more.
    expect(grownMb).toBeLessThan(150);
  }, 180_000);
});
