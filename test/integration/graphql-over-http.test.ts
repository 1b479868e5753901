import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, type GraphQLResponse, startInProcessGateway } from '../support/gateway.js';
import { ACCOUNT, OPEN, openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { uniqueName } from '../support/resources.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

// GraphQL's POSTs with a plain JSON body are served without Express (http-server.ts); everything else goes through
// Express's body parser. Both must answer every request the same way.

const cleanups = cleanupList();
let env: TestGatewayEnv;
let url: string;
let admin: string;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'http');
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
});

afterAll(() => cleanups.run());

const TYPENAME = JSON.stringify({ query: '{ __typename }' });

async function post(body: string | Blob, headers: Record<string, string>, path = '/graphql', base = url) {
  const response = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, ...headers }, body });
  const answer = (await response.json()) as GraphQLResponse;
  return { status: response.status, headers: response.headers, answer, code: answer.errors?.[0]?.extensions?.code };
}

describe('GraphQL over HTTP POST', () => {
  it.each([
    ['application/json', {}],
    ['with charset=utf-8', { 'content-type': 'application/json; charset=utf-8' }],
    ['in capitals', { 'content-type': 'Application/JSON; Charset=UTF-8' }],
    ['gzipped', { 'content-encoding': 'gzip' }],
  ])('should answer a JSON body sent %s', async (_, headers: Record<string, string>) => {
    const body = headers['content-encoding'] === 'gzip' ? new Blob([gzipSync(TYPENAME)]) : TYPENAME;
    const { status, headers: answered, answer } = await post(body, { 'content-type': 'application/json', ...headers });
    expect(status).toBe(200);
    expect(answer).toEqual({ data: { __typename: 'Query' } });
    expect(answered.get('content-type')).toBe('application/json; charset=utf-8');
    expect(answered.get('cache-control')).toBe('no-store');
    expect(answered.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['malformed JSON', '{"query": "{ __typename }"', 'application/json', 400, 'GRAPHQL_PARSE_FAILED'],
    ['a JSON string', '"{ __typename }"', 'application/json', 400, 'GRAPHQL_PARSE_FAILED'],
    ['whitespace only', '  \n ', 'application/json', 400, 'GRAPHQL_PARSE_FAILED'],
    ['an empty body', '', 'application/json', 400, 'BAD_REQUEST'],
    ['a JSON object without a query', '{}', 'application/json', 400, 'BAD_REQUEST'],
    ['a batch', `[${TYPENAME}]`, 'application/json', 400, 'BAD_REQUEST'],
    ['text/plain', TYPENAME, 'text/plain', 400, 'BAD_REQUEST'],
    ['a charset other than UTF-8', TYPENAME, 'application/json; charset=latin1', 415, 'GRAPHQL_PARSE_FAILED'],
  ])('should refuse %s with its code in GraphQL error shape', async (_, body, contentType, status, code) => {
    const answered = await post(body, { 'content-type': contentType });
    expect([answered.status, answered.code]).toEqual([status, code]);
    expect(answered.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('should answer a body over the size limit with 413 and QUERY_TOO_COMPLEX, and close that connection', async () => {
    const answered = await post(JSON.stringify({ query: `{ __typename } # ${'x'.repeat(300 * 1024)}` }), {
      'content-type': 'application/json',
    });
    expect([answered.status, answered.code]).toEqual([413, 'QUERY_TOO_COMPLEX']);
    expect(answered.headers.get('connection')).toBe('close');
    expect(JSON.stringify(answered.answer)).not.toMatch(/stack|at \//);
  });

  it('should keep the query string out of a POST: it is answered from its body', async () => {
    const answered = await post(TYPENAME, { 'content-type': 'application/json' }, '/graphql?query=%7B%20nope%20%7D');
    expect(answered.answer).toEqual({ data: { __typename: 'Query' } });
  });

  it('should refuse a bad token with 401 UNAUTHENTICATED before anything runs', async () => {
    const account = uniqueName('acc');
    const answered = await post(JSON.stringify({ query: OPEN, variables: { input: { id: account, owner: 'Eve', currency: 'USD' } } }), {
      'content-type': 'application/json',
      authorization: 'Bearer not-a-token',
    });
    expect([answered.status, answered.code]).toEqual([401, 'UNAUTHENTICATED']);
    const lookup = await post(JSON.stringify({ query: ACCOUNT, variables: { id: account } }), { 'content-type': 'application/json' });
    expect(lookup.answer.data).toEqual({ account: null });
  });
});

describe('GraphQL over HTTP while the gateway drains', () => {
  it('should still settle a POSTed order, answering it with Connection: close so the next request goes elsewhere', async () => {
    const draining = await startInProcessGateway({ ...env, DRAIN_DELAY_MS: '3000' });
    let stopped: Promise<void> | undefined;
    cleanups.push(() => stopped ?? draining.stop());
    const account = uniqueName('acc');
    await openFundedAccount(draining.url, admin, account, 1000n);
    stopped = draining.stop();
    const body = JSON.stringify({ query: PLACE, variables: { input: orderInput(account, 250, 'during-drain') } });
    const answered = await post(body, { 'content-type': 'application/json' }, '/graphql', draining.url);
    expect(answered.status).toBe(200);
    expect(answered.answer.errors).toBeUndefined();
    expect(answered.answer.data).toMatchObject({ placeOrder: { status: 'SETTLED', balanceAfter: '750' } });
    expect(answered.headers.get('connection')).toBe('close');
    await stopped;
  });
});
