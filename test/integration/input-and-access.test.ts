import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, errorCode, type GraphQLResponse, graphql, startInProcessGateway, token } from '../support/gateway.js';
import { ACCOUNT, balanceOf, DEPOSIT, OPEN, openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { uniqueName } from '../support/resources.js';
import { testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let url: string;
let admin: string;
const account = uniqueName('acc');
const other = uniqueName('other');
let databaseUrl: string;
let gateway: Awaited<ReturnType<typeof startInProcessGateway>>;

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'access');
  databaseUrl = env.DATABASE_URL;
  gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
  await openFundedAccount(url, admin, account, 1000n);
  await openFundedAccount(url, admin, other, 1000n);
});

afterAll(() => cleanups.run());

const ordersOf = async (id: string) => {
  const r = await graphql(url, `query($a: ID!) { orders(accountId: $a, first: 100) { edges { node { id } } } }`, { a: id }, admin);
  return r.data?.orders.edges.length as number;
};

describe('bad input', () => {
  it.each([
    ['a negative amount', { amount: '-5' }],
    ['a zero amount', { amount: '0' }],
    ['a fractional amount', { amount: '1.5' }],
    ['a fractional JSON number', { amount: 1.5 }],
    ['an amount over 10^15', { amount: '1000000000000001' }],
    ['a huge amount', { amount: '99999999999999999999999' }],
    ['a non-numeric amount', { amount: 'ten' }],
    ['an empty amount', { amount: '' }],
    ['an amount of the wrong type', { amount: true }],
    ['a lower-case currency', { currency: 'usd' }],
    ['a two-letter currency', { currency: 'US' }],
    ['an upper-case product', { product: 'Phone' }],
    ['a product with a space', { product: 'phone topup' }],
    ['an empty product', { product: '' }],
    ['an over-long product', { product: 'p'.repeat(65) }],
    ['a malformed account id', { accountId: 'bad id!' }],
    ['an over-long account id', { accountId: 'a'.repeat(65) }],
    ['an over-long reference', { reference: 'r'.repeat(129) }],
    ['an empty idempotency key', { idempotencyKey: '' }],
    ['an over-long idempotency key', { idempotencyKey: 'k'.repeat(129) }],
    ['an idempotency key with a lone surrogate', { idempotencyKey: 'k\ud801' }],
    ['a reference with a lone surrogate', { reference: 'r\udbff' }],
    ['an account id of the wrong type', { accountId: { id: 1 } }],
    ['a missing field', { product: undefined }],
  ])('should refuse placeOrder with %s as BAD_USER_INPUT and change nothing', async (_what, change) => {
    const response = await graphql(url, PLACE, { input: orderInput(account, 10, uniqueName('k'), change) }, admin);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(response.data?.placeOrder ?? null).toBeNull();
    expect(await balanceOf(url, admin, account)).toBe(1000n);
    expect(await ordersOf(account)).toBe(0);
  });

  it('should refuse an inline literal amount that is not an integer as BAD_USER_INPUT', async () => {
    const response = await graphql(
      url,
      `mutation { placeOrder(input: { accountId: "${account}", amount: "1.5", currency: "USD", product: "x", idempotencyKey: "lit" }) { id } }`,
      {},
      admin,
    );
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(await balanceOf(url, admin, account)).toBe(1000n);
  });

  it.each([
    ['a bad currency', { owner: 'A', currency: 'usd' }],
    ['a malformed id', { id: 'white space', owner: 'A', currency: 'USD' }],
    ['an empty owner', { owner: '  ', currency: 'USD' }],
    ['an owner of the wrong type', { owner: 5, currency: 'USD' }],
    ['an owner with a lone surrogate', { owner: 'A\ud801', currency: 'USD' }],
  ])('should refuse openAccount with %s as BAD_USER_INPUT', async (_what, input) => {
    expect(errorCode(await graphql(url, OPEN, { input }, admin))).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['a zero amount', '0', 'd'],
    ['a negative amount', '-1', 'd'],
    ['an amount over 10^15', '1000000000000001', 'd'],
    ['an idempotency key with a lone surrogate', '5', 'd\ud801'],
  ])('should refuse a deposit with %s as BAD_USER_INPUT and change nothing', async (_what, amount, key) => {
    const response = await graphql(url, DEPOSIT, { input: { accountId: account, amount, idempotencyKey: uniqueName(key) } }, admin);
    expect(errorCode(response)).toBe('BAD_USER_INPUT');
    expect(await balanceOf(url, admin, account)).toBe(1000n);
  });

  it('should refuse an order id that is not a UUID', async () => {
    expect(errorCode(await graphql(url, `query { order(id: "nope") { id } }`, {}, admin))).toBe('BAD_USER_INPUT');
  });
});

describe('access rules', () => {
  const holder = () => token({ sub: 'alice', scope: ['orders:write'], accounts: [account] });

  it.each([
    ['no token', async () => undefined],
    ['an expired token', () => token({ sub: 'alice', scope: ['orders:write'], accounts: [account], expiresInSeconds: -10 })],
    ['a malformed token', async () => 'not.a.jwt'],
    [
      'a token signed with another secret',
      () => token({ sub: 'alice', scope: ['orders:write'], accounts: [account] }, 'another-secret-that-is-long-enough-0123456789'),
    ],
  ])('should refuse placeOrder with %s as UNAUTHENTICATED and change nothing', async (_what, makeToken) => {
    const response = await graphql(url, PLACE, { input: orderInput(account, 10, uniqueName('k')) }, await makeToken());
    expect(errorCode(response)).toBe('UNAUTHENTICATED');
    expect(await balanceOf(url, admin, account)).toBe(1000n);
  });

  it.each([
    [
      'placeOrder on another account',
      () => token({ sub: 'alice', scope: ['orders:write'], accounts: [account] }),
      PLACE,
      () => ({ input: orderInput(other, 10, 'f1') }),
    ],
    [
      'placeOrder without orders:write',
      () => token({ sub: 'alice', scope: [], accounts: [account] }),
      PLACE,
      () => ({ input: orderInput(account, 10, 'f2') }),
    ],
    [
      'openAccount without accounts:write',
      () => token({ sub: 'alice', scope: ['orders:write'] }),
      OPEN,
      () => ({ input: { id: 'never-opened', owner: 'x', currency: 'USD' } }),
    ],
    [
      'deposit without accounts:write',
      () => token({ sub: 'alice', scope: ['orders:write'], accounts: [account] }),
      DEPOSIT,
      () => ({ input: { accountId: account, amount: '5', idempotencyKey: 'f3' } }),
    ],
    ['reading another account', () => token({ sub: 'alice', scope: [], accounts: [account] }), ACCOUNT, () => ({ id: other })],
    [
      "listing another account's orders",
      () => token({ sub: 'alice', scope: [], accounts: [account] }),
      `query($a: ID!) { orders(accountId: $a) { edges { cursor } } }`,
      () => ({ a: other }),
    ],
  ])('should refuse %s as FORBIDDEN and change nothing', async (_what, makeToken, query, variables) => {
    const response = await graphql(url, query, variables(), await makeToken());
    expect(errorCode(response)).toBe('FORBIDDEN');
    expect(await balanceOf(url, admin, account)).toBe(1000n);
    expect((await graphql(url, ACCOUNT, { id: 'never-opened' }, admin)).data?.account).toBeNull();
    expect(await balanceOf(url, admin, other)).toBe(1000n);
  });

  it("should let a holder order on and read its own account, but not read another account's order", async () => {
    const placed = await graphql(url, PLACE, { input: orderInput(account, 10, 'own') }, await holder());
    expect(placed.errors).toBeUndefined();
    expect(await balanceOf(url, await holder(), account)).toBe(990n);
    const foreign = await graphql(url, PLACE, { input: orderInput(other, 10, 'theirs') }, admin);
    const read = await graphql(url, `query($id: ID!) { order(id: $id) { id } }`, { id: foreign.data?.placeOrder.id }, await holder());
    expect(errorCode(read)).toBe('FORBIDDEN');
  });

  it('should answer a fault of its own with INTERNAL_SERVER_ERROR and a logged correlation id, leaking nothing and changing nothing', async () => {
    const victim = uniqueName('acc');
    await openFundedAccount(url, admin, victim, 1000n);
    // A real fault inside the settlement transaction: the outbox insert fails after the debit.
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    await sql`alter table outbox rename to outbox_away`;
    let response: GraphQLResponse;
    try {
      response = await graphql(url, PLACE, { input: orderInput(victim, 10, 'fault') }, admin);
    } finally {
      await sql`alter table outbox_away rename to outbox`;
      await sql.end();
    }
    expect(errorCode(response)).toBe('INTERNAL_SERVER_ERROR');
    const correlationId = response.errors?.[0]?.extensions?.correlationId;
    expect(correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(response)).not.toMatch(/outbox|\brelation\b|\binsert\b|\bselect\b|postgres|stack|kafka|127\.0\.0\.1/i);
    expect(gateway.logLines.some((line) => line.includes(String(correlationId)) && line.includes('outbox'))).toBe(true);
    expect(await balanceOf(url, admin, victim)).toBe(1000n);
    expect(await ordersOf(victim)).toBe(0);
  });
});
