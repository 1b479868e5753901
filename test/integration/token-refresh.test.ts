import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, startInProcessGateway, TEST_SECRET, token } from '../support/gateway.js';
import { sampleValue, scrape } from '../support/metrics.js';
import { openFundedAccount, placeOrdersOn } from '../support/orders.js';
import { observeFor, uniqueName, waitFor } from '../support/resources.js';
import { connectPinging, type PingingConnection, type SettledEvent, type Subscriber, untilLive } from '../support/subscriber.js';
import { testGatewayEnv } from '../support/test-env.js';

// Token refresh on a live websocket (CONTRACT.md): a graphql-ws ping whose payload is {"authorization": "Bearer <JWT>"}.

const cleanups = cleanupList();
let url: string;
let admin: string;

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'token-refresh');
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
});

afterAll(() => cleanups.run());

function open(bearer: string): PingingConnection {
  const connection = connectPinging(url, bearer);
  cleanups.push(() => connection.close());
  return connection;
}

async function fundedAccount(): Promise<string> {
  const account = uniqueName('acc');
  await openFundedAccount(url, admin, account, 1_000_000n);
  return account;
}

const placeOrders = (account: string, count: number, keyPrefix: string) => placeOrdersOn(url, admin, account, count, keyPrefix);
const notWarmUp = (events: readonly SettledEvent[]) => events.filter((e) => !e.order.idempotencyKey.startsWith('warm-'));
const expiryOf = (jwt: string): number => (decodeJwt(jwt).exp ?? 0) * 1000;
const activeSubscriptions = async () => sampleValue(await scrape(url), 'gateway_subscriptions_active') ?? 0;

/** Places one more order on `account` and waits until `subscriber` has it. */
async function placeSentinel(subscriber: Subscriber, account: string): Promise<string> {
  const [id] = await placeOrders(account, 1, uniqueName('sentinel'));
  await waitFor('the sentinel order', () => (subscriber.events.some((e) => e.order.id === id) ? true : undefined));
  return id as string;
}

describe('token refresh over graphql-ws', () => {
  it('should end with FORBIDDEN the subscriptions the narrowed claims no longer allow, and keep the others delivering everything', async () => {
    const [mine, theirs] = [await fundedAccount(), await fundedAccount()];
    const wide = await token({ sub: 'narrowing', scope: ['orders:read:all'], accounts: [mine] });
    // First in the file: no other subscription is open on this gateway.
    const baseline = await activeSubscriptions();
    const connection = open(wide);
    const onMine = connection.subscribe({ filter: { accountId: mine } });
    const onTheirs = connection.subscribe({ filter: { accountId: theirs } });
    const unfiltered = connection.subscribe({});
    await untilLive([onMine, onTheirs, unfiltered], async (i) => {
      await placeOrders(mine, 1, `warm-mine-${i}`);
      await placeOrders(theirs, 1, `warm-theirs-${i}`);
    });
    expect(await activeSubscriptions()).toBe(baseline + 3);

    const before = await placeOrders(mine, 2, 'before-refresh');
    const narrowed = await token({ sub: 'narrowing', scope: [], accounts: [mine] });
    const pong = await connection.refresh(narrowed);
    expect(Date.parse(String(pong?.expiresAt))).toBe(expiryOf(narrowed));
    const forbidden = (subscriber: Subscriber) => subscriber.errors[0]?.extensions?.code;
    await waitFor('the disallowed subscriptions to end', () =>
      onTheirs.errors.length > 0 && unfiltered.errors.length > 0 ? true : undefined,
    );
    expect([forbidden(onTheirs), forbidden(unfiltered)]).toEqual(['FORBIDDEN', 'FORBIDDEN']);
    await waitFor('the gateway to hold one subscription of the socket', async () =>
      (await activeSubscriptions()) === baseline + 1 ? true : undefined,
    );

    const after = await placeOrders(mine, 2, 'after-refresh');
    const [theirsAfter] = await placeOrders(theirs, 1, 'theirs-after-refresh');
    const sentinel = await placeSentinel(onMine, mine);
    expect(notWarmUp(onMine.events).map((e) => e.order.id)).toEqual([...before, ...after, sentinel]);
    expect(onMine.errors).toEqual([]);
    // The ended ones got nothing after their error: a watch, as their account's orders share no partition with the sentinel.
    await observeFor(500);
    expect(onTheirs.events.map((e) => e.order.id)).not.toContain(theirsAfter);
    expect(unfiltered.events.map((e) => e.order.id)).not.toContain(sentinel);
    expect(connection.closeCodes).toEqual([]);
    await connection.close();
  });

  it('should take a valid token of the same sub: pong with its expiry, and the socket outlives the old token, delivering', async () => {
    const account = await fundedAccount();
    const old = await token({ sub: 'refresher', scope: ['orders:read:all'], expiresInSeconds: 4 });
    const connection = open(old);
    const subscriber = connection.subscribe({ filter: { accountId: account } });
    const fresh = await token({ sub: 'refresher', scope: ['orders:read:all'], expiresInSeconds: 60 });
    const pong = await connection.refresh(fresh);
    expect(Object.keys(pong ?? {})).toEqual(['expiresAt']);
    expect(pong?.expiresAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
    expect(Date.parse(String(pong?.expiresAt))).toBe(expiryOf(fresh));

    await untilLive([subscriber], (i) => placeOrders(account, 1, `warm-${i}`).then(() => {}));
    // Past the old token's expiry by two seconds: the socket would have closed with 4401 then.
    const past = expiryOf(old) + 2000 - Date.now();
    if (past > 0) await observeFor(past);
    expect(connection.closeCodes).toEqual([]);
    const after = await placeOrders(account, 2, 'after-old-expiry');
    const sentinel = await placeSentinel(subscriber, account);
    expect(notWarmUp(subscriber.events).map((e) => e.order.id)).toEqual([...after, sentinel]);
    expect(subscriber.errors).toEqual([]);
    expect(connection.closeCodes).toEqual([]);

    // A later refresh moves the expiry again, here closer: the socket closes at that one, long before the 60 s token's.
    const brief = await token({ sub: 'refresher', scope: ['orders:read:all'], expiresInSeconds: 3 });
    expect(Date.parse(String((await connection.refresh(brief))?.expiresAt))).toBe(expiryOf(brief));
    await waitFor('the socket to close at the newest expiry', () => (connection.closeCodes.length > 0 ? true : undefined), 15_000);
    expect(connection.closeCodes).toEqual([4401]);
    expect(Date.now()).toBeGreaterThanOrEqual(expiryOf(brief) - 1000);
    await connection.close();
  });

  it('should answer an invalid or expired token with pong error UNAUTHENTICATED and change nothing', async () => {
    const account = await fundedAccount();
    const original = await token({ sub: 'keeper', scope: ['orders:read:all'], expiresInSeconds: 8 });
    const connection = open(original);
    const subscriber = connection.subscribe({ filter: { accountId: account } });
    const refused = [
      'garbage',
      await token({ sub: 'keeper', scope: ['orders:read:all'], expiresInSeconds: -5 }),
      await token({ sub: 'keeper', scope: ['orders:read:all'] }, `${TEST_SECRET}-of-someone-else`),
    ];
    for (const bearer of refused) expect(await connection.refresh(bearer)).toEqual({ error: 'UNAUTHENTICATED' });
    expect(connection.closeCodes).toEqual([]);

    // The subscription goes on, under the original token.
    await untilLive([subscriber], (i) => placeOrders(account, 1, `warm-${i}`).then(() => {}));
    const placed = await placeOrders(account, 2, 'after-refusals');
    await placeSentinel(subscriber, account).then((sentinel) =>
      expect(notWarmUp(subscriber.events).map((e) => e.order.id)).toEqual([...placed, sentinel]),
    );
    // ... and the socket still closes at the original token's expiry.
    await waitFor('the socket to close at the original expiry', () => (connection.closeCodes.length > 0 ? true : undefined), 15_000);
    expect(connection.closeCodes).toEqual([4401]);
    expect(Date.now()).toBeGreaterThanOrEqual(expiryOf(original) - 1000);
  });

  it('should close the socket with 4403 on a token of another sub', async () => {
    const account = await fundedAccount();
    const connection = open(await token({ sub: 'first-sub', scope: ['orders:read:all'] }));
    const subscriber = connection.subscribe({ filter: { accountId: account } });
    await untilLive([subscriber], (i) => placeOrders(account, 1, `warm-${i}`).then(() => {}));
    const answer = await connection.refresh(await token({ sub: 'second-sub', scope: ['orders:read:all'] })).then(
      (pong) => ({ pong }),
      (error: unknown) => ({ error: String(error) }),
    );
    await waitFor('the socket to close', () => (connection.closeCodes.length > 0 ? true : undefined));
    expect({ answer, closeCodes: connection.closeCodes }).toMatchObject({ closeCodes: [4403] });
    // The pong says why before the close frame (docs/contract-additions.md).
    expect(answer).toEqual({ pong: { error: 'FORBIDDEN' } });
  });

  it('should answer a ping without an authorization payload as an ordinary ping, echoing its payload', async () => {
    const account = await fundedAccount();
    const connection = open(await token({ sub: 'pinger', scope: ['orders:read:all'] }));
    const subscriber = connection.subscribe({ filter: { accountId: account } });
    expect(await connection.ping()).toBeUndefined();
    expect(await connection.ping({ note: 'hello' })).toEqual({ note: 'hello' });
    expect(connection.closeCodes).toEqual([]);
    await untilLive([subscriber], (i) => placeOrders(account, 1, `warm-${i}`).then(() => {}));
    expect(subscriber.errors).toEqual([]);
    await connection.close();
  });
});
