import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOrderSettledEvent, toOrderSettledEvent } from '../../src/domain/order-event.js';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, errorCode, type GraphQLResponse, graphql, startInProcessGateway, token } from '../support/gateway.js';
import { ACCOUNT, balanceOf, DEPOSIT, OPEN, openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { type ReadRecord, readTopic, uniqueName, waitFor } from '../support/resources.js';
import { connect } from '../support/subscriber.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let url: string;
let admin: string;
let topic: string;
let sql: postgres.Sql;
let databaseUrl: string;
let env: TestGatewayEnv;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'settlement');
  databaseUrl = env.DATABASE_URL;
  topic = env.ORDERS_TOPIC;
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
  sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  cleanups.push(() => sql.end());
});

afterAll(() => cleanups.run());

describe('placeOrder', () => {
  it('should settle exactly the 37 of 100 concurrent orders the account can afford, and publish exactly those', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 37n * 250n);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => graphql(url, PLACE, { input: orderInput(account, 250, `race-${i}`) }, admin)),
    );
    const settled = results.filter((r) => r.data?.placeOrder);
    const refused = results.filter((r) => errorCode(r) === 'INSUFFICIENT_FUNDS');
    expect(settled).toHaveLength(37);
    expect(refused).toHaveLength(63);
    expect(await balanceOf(url, admin, account)).toBe(0n);
    // Each settled debit saw a distinct non-negative balance: 36*250, 35*250, ..., 0.
    const after = settled.map((r) => BigInt(r.data?.placeOrder.balanceAfter)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(after).toEqual(Array.from({ length: 37 }, (_, i) => BigInt(i * 250)));

    const records = (await readTopic(topic, 37, { settleMs: 1000 })).filter((r) => r.key === account);
    expect(records).toHaveLength(37);
    const events = records.map((r) => parseOrderSettledEvent(r.value));
    expect(events.every((e) => e !== null)).toBe(true);
    expect(new Set(events.map((e) => e?.order.id))).toEqual(new Set(settled.map((r) => r.data?.placeOrder.id)));
    const outboxIds = await sql<{ event_id: string }[]>`
      select o.event_id from outbox o where o.value->'data'->>'accountId' = ${account}`;
    expect(new Set(events.map((e) => e?.eventId))).toEqual(new Set(outboxIds.map((r) => r.event_id)));
    expect(records.every((r) => r.headers['content-type'] === 'application/cloudevents+json')).toBe(true);
    // In offset order the balance only goes down: Kafka holds the account's orders in settlement order.
    const balances = records
      .sort((a, b) => Number(a.offset) - Number(b.offset))
      .map((r) => parseOrderSettledEvent(r.value)?.order.balanceAfter);
    expect(balances).toEqual([...balances].sort((a, b) => (a! > b! ? -1 : 1)));
    const sample = JSON.parse(records[0]!.value) as Record<string, unknown>;
    expect(sample).toMatchObject({
      specversion: '1.0',
      type: 'order.settled',
      source: 'graphql-kafka-gateway',
      datacontenttype: 'application/json',
    });
  });

  it('should return the original order for a replayed key and debit once', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1000n);
    const first = await graphql(url, PLACE, { input: orderInput(account, 300, 'k1') }, admin);
    const replay = await graphql(url, PLACE, { input: orderInput(account, 300, 'k1') }, admin);
    expect(replay.data?.placeOrder).toEqual(first.data?.placeOrder);
    expect(await balanceOf(url, admin, account)).toBe(700n);
  });

  it('should settle once when two calls with one key race', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1000n);
    const racing = await Promise.all(
      Array.from({ length: 8 }, () => graphql(url, PLACE, { input: orderInput(account, 400, 'same') }, admin)),
    );
    const ids = new Set(racing.map((r) => r.data?.placeOrder.id));
    expect(racing.every((r) => r.errors === undefined)).toBe(true);
    expect(ids.size).toBe(1);
    expect(await balanceOf(url, admin, account)).toBe(600n);
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from orders where account_id = ${account}`;
    expect(row?.n).toBe(1);
  });

  it.each([
    ['amount', { amount: '301' }],
    ['currency', { currency: 'EUR' }],
    ['product', { product: 'gift-card' }],
    ['reference', { reference: '+15550199' }],
  ])('should refuse reusing a key with a different %s as IDEMPOTENCY_CONFLICT', async (_field, change) => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1000n);
    await graphql(url, PLACE, { input: orderInput(account, 300, 'k') }, admin);
    const reuse = await graphql(url, PLACE, { input: orderInput(account, 300, 'k', change) }, admin);
    expect(errorCode(reuse)).toBe('IDEMPOTENCY_CONFLICT');
    expect(await balanceOf(url, admin, account)).toBe(700n);
  });

  it('should answer a domain failure with its code and change nothing', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 100n);
    expect(errorCode(await graphql(url, PLACE, { input: orderInput('no-such-account', 1, 'x') }, admin))).toBe('ACCOUNT_NOT_FOUND');
    expect(errorCode(await graphql(url, PLACE, { input: orderInput(account, 1, 'x', { currency: 'EUR' }) }, admin))).toBe(
      'CURRENCY_MISMATCH',
    );
    expect(errorCode(await graphql(url, PLACE, { input: orderInput(account, 101, 'x') }, admin))).toBe('INSUFFICIENT_FUNDS');
    expect(await balanceOf(url, admin, account)).toBe(100n);
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from orders where account_id = ${account}`;
    expect(row?.n).toBe(0);
  });
});

describe('deposit and openAccount', () => {
  it('should credit a deposit once per key and refuse a conflicting reuse', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 0n);
    const input = { accountId: account, amount: '500', idempotencyKey: 'd1' };
    const results = await Promise.all(Array.from({ length: 5 }, () => graphql(url, DEPOSIT, { input }, admin)));
    expect(results.every((r) => r.errors === undefined)).toBe(true);
    expect(await balanceOf(url, admin, account)).toBe(500n);
    const conflict = await graphql(url, DEPOSIT, { input: { ...input, amount: '501' } }, admin);
    expect(errorCode(conflict)).toBe('IDEMPOTENCY_CONFLICT');
    expect(await balanceOf(url, admin, account)).toBe(500n);
  });

  it('should answer a replayed deposit with the balance it originally returned, after the money moved on', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 0n);
    const input = { accountId: account, amount: '500', idempotencyKey: 'once' };
    const original = await graphql(url, DEPOSIT, { input }, admin);
    expect(original.data?.deposit.balance).toBe('500');
    expect((await graphql(url, PLACE, { input: orderInput(account, 200, 'spend') }, admin)).errors).toBeUndefined();
    const replay = await graphql(url, DEPOSIT, { input }, admin);
    expect(replay.data).toEqual(original.data);
    expect(await balanceOf(url, admin, account)).toBe(300n);
  });

  it('should treat reopening the same account as a retry, and a different one under the same id as a conflict', async () => {
    const id = uniqueName('acc');
    const input = { id, owner: 'Alice', currency: 'USD' };
    const first = await graphql(url, OPEN, { input }, admin);
    const again = await graphql(url, OPEN, { input }, admin);
    expect(again.data).toEqual(first.data);
    expect(errorCode(await graphql(url, OPEN, { input: { ...input, currency: 'EUR' } }, admin))).toBe('IDEMPOTENCY_CONFLICT');
  });

  it('should generate an account id when none is given', async () => {
    const opened = await graphql(url, OPEN, { input: { owner: 'Bob', currency: 'EUR' } }, admin);
    expect(opened.data?.openAccount.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(opened.data?.openAccount.balance).toBe('0');
  });
});

describe('operation limits and the explorer switch', () => {
  it('should refuse an operation over the cost limit with QUERY_TOO_COMPLEX, and run nothing of it', async () => {
    const page = (i: number) => `p${i}: orders(accountId: "acc", first: 100) { edges { node { id amount } } }`;
    const response = await graphql(url, `{ ${Array.from({ length: 20 }, (_, i) => page(i)).join(' ')} }`, {}, admin);
    expect(errorCode(response)).toBe('QUERY_TOO_COMPLEX');
    expect(response.data ?? null).toBeNull();
  });

  it('should, with EXPLORER_ENABLED=false, tell a browser the explorer is off, and refuse introspection outside development naming its setting', async () => {
    const off = await startInProcessGateway({ ...env, EXPLORER_ENABLED: 'false' });
    cleanups.push(off.stop);
    const page = await fetch(`${off.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('EXPLORER_ENABLED=false');
    // NODE_ENV=test: introspection is off unless GRAPHQL_INTROSPECTION turns it on, whatever the explorer's setting.
    const introspection = await graphql(off.url, '{ __schema { queryType { name } } }', {}, admin);
    expect(errorCode(introspection)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(introspection.errors?.[0]?.message).toContain('GRAPHQL_INTROSPECTION=false');
    expect((await graphql(off.url, '{ __typename }', {}, admin)).data).toEqual({ __typename: 'Query' });
    const on = await startInProcessGateway({ ...env, EXPLORER_ENABLED: 'false', GRAPHQL_INTROSPECTION: 'true' });
    cleanups.push(on.stop);
    expect((await graphql(on.url, '{ __schema { queryType { name } } }', {}, admin)).data).toEqual({
      __schema: { queryType: { name: 'Query' } },
    });
  });
});

describe('per-caller rate limits', () => {
  it('should refuse a caller over its rate with 429, RATE_LIMITED and retryAfterSeconds, changing nothing, and leave other callers alone', async () => {
    const limited = await startInProcessGateway({ ...env, RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3' });
    cleanups.push(limited.stop);
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1000n);
    const busy = await token({ sub: 'busy', scope: ['orders:write', 'accounts:write'] });
    const post = (key: string) =>
      fetch(`${limited.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${busy}` },
        body: JSON.stringify({ query: PLACE, variables: { input: orderInput(account, 10, key) } }),
      });
    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await post(`burst-${i}`));
    expect(responses.slice(0, 3).map((r) => r.status)).toEqual([200, 200, 200]);
    const refused = responses[3]!;
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    const body = (await refused.json()) as GraphQLResponse;
    expect(body.errors?.[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    expect(await balanceOf(url, admin, account)).toBe(970n);
    // Another caller on the same gateway still has its whole burst.
    expect((await graphql(limited.url, ACCOUNT, { id: account }, admin)).data?.account.balance).toBe('970');

    // Over a websocket, each operation counts; a refused one leaves the socket open.
    const watcher = connect(limited.url, await token({ sub: 'watcher', scope: ['orders:read:all'] }), { lazy: false });
    cleanups.push(() => watcher.close());
    const allowed = [0, 1, 2].map(() => watcher.run('{ __typename }'));
    await waitFor('three answers', () => (allowed.every((a) => a.completed) ? true : undefined));
    expect(allowed.map((a) => a.errors)).toEqual([[], [], []]);
    const fourth = watcher.run('{ __typename }');
    await waitFor('the fourth to be refused', () => (fourth.errors.length > 0 ? true : undefined));
    expect(fourth.errors[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 1 });
    expect(watcher.closeCodes).toEqual([]);
  });
});

describe('GraphQL over HTTP GET', () => {
  it('should answer a query sent with GET and a token, and refuse a mutation over GET', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 42n);
    const query = encodeURIComponent(`query { account(id: "${account}") { balance } }`);
    const response = await fetch(`${url}/graphql?query=${query}`, {
      headers: { authorization: `Bearer ${admin}`, accept: 'application/json' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { account: { balance: '42' } } });
    const mutation = encodeURIComponent(
      `mutation { deposit(input: { accountId: "${account}", amount: "1", idempotencyKey: "get" }) { balance } }`,
    );
    const refused = await fetch(`${url}/graphql?query=${mutation}`, {
      headers: { authorization: `Bearer ${admin}`, accept: 'application/json' },
    });
    expect(refused.status).toBe(405);
    expect(await balanceOf(url, admin, account)).toBe(42n);
  });
});

describe('orders pagination', () => {
  it('should page newest first without gaps or repeats, stable while new orders arrive', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 100_000n);
    const placed: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await graphql(url, PLACE, { input: orderInput(account, 10, `p${i}`) }, admin);
      placed.push(r.data?.placeOrder.id);
    }
    const query = `query($a: ID!, $after: String) { orders(accountId: $a, first: 3, after: $after) {
      edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const r: GraphQLResponse = await graphql(url, query, { a: account, after }, admin);
      const connection: any = r.data?.orders;
      seen.push(...connection.edges.map((e: { node: { id: string } }) => e.node.id));
      if (page === 0) await graphql(url, PLACE, { input: orderInput(account, 10, 'late') }, admin);
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(seen).toEqual([...placed].reverse());
    const nested = await graphql(
      url,
      `query($id: ID!) { account(id: $id) { orders(first: 2) { edges { node { id } } pageInfo { hasNextPage } } } }`,
      { id: account },
      admin,
    );
    expect(nested.data?.account.orders.edges).toHaveLength(2);
    expect(nested.data?.account.orders.pageInfo.hasNextPage).toBe(true);
    expect(errorCode(await graphql(url, query, { a: account, after: 'garbage' }, admin))).toBe('BAD_USER_INPUT');
    const beyondBigint = Buffer.from('o:9999999999999999999').toString('base64url');
    expect(errorCode(await graphql(url, query, { a: account, after: beyondBigint }, admin))).toBe('BAD_USER_INPUT');
  });
});

describe('the outbox relay', () => {
  it('should skip no row when a long transaction commits after shorter ones, and keep each account in order', async () => {
    const slow = uniqueName('slow');
    const fast = [uniqueName('f1'), uniqueName('f2')];
    for (const account of [slow, ...fast]) await openFundedAccount(url, admin, account, 10_000n);
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let heldOutboxId = 0n;
    const orderId = randomUUID();
    // Holds an outbox id (and the slow account's row lock) open while others commit.
    const longTransaction = sql.begin(async (tx) => {
      const [account] = await tx<{ balance: bigint }[]>`update accounts set balance = balance - 5 where id = ${slow} returning balance`;
      const now = new Date();
      const order = {
        id: orderId,
        accountId: slow,
        amount: 5n,
        currency: 'USD',
        product: 'held',
        reference: null,
        status: 'SETTLED' as const,
        balanceAfter: BigInt(account!.balance),
        idempotencyKey: 'held',
        createdAt: now,
        settledAt: now,
      };
      await tx`insert into orders (id, account_id, amount, currency, product, balance_after, idempotency_key, created_at, settled_at)
        values (${order.id}, ${slow}, 5, 'USD', 'held', ${String(order.balanceAfter)}, 'held', ${now}, ${now})`;
      const eventId = randomUUID();
      const [row] = await tx<{ id: bigint }[]>`insert into outbox (event_id, topic, key, value)
        values (${eventId}, ${topic}, ${slow}, ${tx.json(JSON.parse(JSON.stringify(toOrderSettledEvent(eventId, order))))}) returning id`;
      heldOutboxId = BigInt(row!.id);
      await tx`select pg_notify('outbox_pending', '')`;
      await released;
    });
    await waitFor('the long transaction to hold its outbox id', () => (heldOutboxId > 0n ? true : undefined));
    const blocked = graphql(url, PLACE, { input: orderInput(slow, 7, 'after-held') }, admin);
    const quick: string[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await graphql(url, PLACE, { input: orderInput(fast[i % 2]!, 3, `quick-${i}`) }, admin);
      quick.push(r.data?.placeOrder.id);
    }
    await waitFor('the quick orders to be published', async () => {
      const [row] = await sql<
        { n: number }[]
      >`select count(*)::int as n from outbox where id > ${String(heldOutboxId)} and published_at is not null`;
      return row!.n >= 20 ? true : undefined;
    });
    release();
    await longTransaction;
    const after = await blocked;
    expect(after.errors).toBeUndefined();

    const slowOf = (records: readonly ReadRecord[]) => records.filter((r) => r.key === slow);
    const fastOf = (records: readonly ReadRecord[]) => records.filter((r) => fast.includes(r.key));
    const records = await readTopic(topic, 0, { until: (read) => slowOf(read).length >= 2 && fastOf(read).length >= 20, settleMs: 500 });
    const inOffsetOrder = slowOf(records)
      .sort((a, b) => Number(a.offset) - Number(b.offset))
      .map((r) => parseOrderSettledEvent(r.value)?.order.id);
    expect(inOffsetOrder).toEqual([orderId, after.data?.placeOrder.id]);
    const fastIds = fastOf(records).map((r) => parseOrderSettledEvent(r.value)?.order.id);
    expect(new Set(fastIds)).toEqual(new Set(quick));
    expect(fastIds).toHaveLength(20);
  });
});
