import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenClaims } from '../../src/adapters/auth/access-tokens.js';
import { cleanupList } from '../support/cleanup.js';
import { type GraphQLResponse, graphql, startInProcessGateway, token } from '../support/gateway.js';
import { ACCOUNT, openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { connect } from '../support/subscriber.js';
import { testGatewayEnv } from '../support/test-env.js';

const AUDIENCE = 'orders-gateway';
const ISSUER = 'https://id.test';
const cleanups = cleanupList();
let url: string;
const held = uniqueName('held');
const foreign = uniqueName('foreign');
let foreignOrderId: string;

/** A token this gateway's rules accept, unless `claims` overrides audience, issuer or lifetime. */
const valid = (claims: Partial<TokenClaims> & Pick<TokenClaims, 'sub' | 'scope'>) =>
  token({ audience: AUDIENCE, issuer: ISSUER, expiresInSeconds: 3600, ...claims });
const admin = () => valid({ sub: 'admin', scope: ['accounts:write', 'orders:write', 'orders:read:all'] });
const holder = () => valid({ sub: 'holder', scope: ['orders:write'], accounts: [held] });

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'token-rules', {
    AUTH_JWT_AUDIENCE: AUDIENCE,
    AUTH_JWT_ISSUER: ISSUER,
    AUTH_MAX_TOKEN_LIFETIME: '1h',
  });
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  await openFundedAccount(url, await admin(), held, 1000n);
  await openFundedAccount(url, await admin(), foreign, 1000n);
  const placed = await graphql(url, PLACE, { input: orderInput(foreign, 10, uniqueName('key')) }, await admin());
  expect(placed.errors).toBeUndefined();
  foreignOrderId = placed.data?.placeOrder.id;
});

afterAll(() => cleanups.run());

/** What a client can see of an answer: status, data and each error's code and message. */
const visible = (response: GraphQLResponse) => ({
  status: response.status,
  data: response.data,
  errors: response.errors?.map((e) => ({ code: e.extensions?.code, message: e.message })),
});

describe('AUTH_JWT_AUDIENCE, AUTH_JWT_ISSUER and AUTH_MAX_TOKEN_LIFETIME through the gateway', () => {
  const query = `query($id: ID!) { account(id: $id) { id } }`;

  it('should serve a token that carries the audience and issuer and lives within the maximum', async () => {
    const response = await graphql(url, query, { id: held }, await holder());
    expect(visible(response)).toEqual({ status: 200, data: { account: { id: held } }, errors: undefined });
  });

  it.each([
    ['another audience', { audience: 'billing' }],
    ['no audience', { audience: undefined }],
    ['another issuer', { issuer: 'https://evil.test' }],
    ['a lifetime over AUTH_MAX_TOKEN_LIFETIME', { expiresInSeconds: 3601 }],
  ])('should answer a token with %s with HTTP 401 UNAUTHENTICATED', async (_what, override) => {
    const bearer = await valid({ sub: 'holder', scope: ['orders:write'], accounts: [held], ...override });
    const response = await graphql(url, query, { id: held }, bearer);
    expect(response.status).toBe(401);
    expect(response.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(response.data ?? null).toBeNull();
  });

  it('should close a websocket whose connection_init carries a token for another audience with 4401, and keep a good one', async () => {
    const refused = connect(url, await valid({ sub: 'holder', scope: [], accounts: [held], audience: 'billing' }));
    const accepted = connect(url, await holder(), { lazy: false });
    cleanups.push(() => refused.close());
    cleanups.push(() => accepted.close());
    const refusedRun = refused.run(query, { id: held });
    const acceptedRun = accepted.run(query, { id: held });
    await waitFor('the refused socket to close', () => (refused.closeCodes.length > 0 ? true : undefined));
    await waitFor('the accepted query to complete', () => (acceptedRun.completed ? true : undefined));
    expect(refused.closeCodes).toEqual([4401]);
    expect(refusedRun.completed).toBe(false);
    expect(acceptedRun.errors).toEqual([]);
    expect(accepted.closeCodes).toEqual([]);
  });
});

describe('order(id) and account(id) do not tell which ids exist', () => {
  const ORDER = `query($id: ID!) { order(id: $id) { id accountId } }`;

  it("should answer a missing order exactly as another account's order to a caller without orders:read:all", async () => {
    const missing = await graphql(url, ORDER, { id: randomUUID() }, await holder());
    const others = await graphql(url, ORDER, { id: foreignOrderId }, await holder());
    expect(visible(missing)).toEqual(visible(others));
    expect(missing.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('should still answer null for a missing order, and the order itself, to a caller with orders:read:all', async () => {
    expect(visible(await graphql(url, ORDER, { id: randomUUID() }, await admin()))).toEqual({
      status: 200,
      data: { order: null },
      errors: undefined,
    });
    expect((await graphql(url, ORDER, { id: foreignOrderId }, await admin())).data?.order).toEqual({
      id: foreignOrderId,
      accountId: foreign,
    });
  });

  it("should answer a missing account exactly as another caller's account to a caller without orders:read:all", async () => {
    const missing = await graphql(url, ACCOUNT, { id: uniqueName('never-opened') }, await holder());
    const others = await graphql(url, ACCOUNT, { id: foreign }, await holder());
    expect(visible(missing)).toEqual(visible(others));
    expect(missing.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
