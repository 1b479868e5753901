import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, startInProcessGateway, token } from '../support/gateway.js';
import { openFundedAccount } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { connect } from '../support/subscriber.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

// Every limit at its default (src/config.ts), crossed by one document: refused before anything runs, with a small
// answer, while another client (a /healthz probe) is served. Issue 21's attack: 4,000 aliases of `__schema { ...F }`
// once answered 36 MB and held the event loop for seconds.

const cleanups = cleanupList();
let env: TestGatewayEnv;
let url: string;
let admin: string;
/** What each refusal's /healthz probe took, printed at the end for the record. */
const probeLatencies: Record<string, number> = {};

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'limits');
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
});

afterAll(async () => {
  console.info(`/healthz latency during each refused request (ms): ${JSON.stringify(probeLatencies)}`);
  await cleanups.run();
});

const TYPE_FRAGMENT = 'fragment F on __Type { name kind fields { name args { name type { name kind ofType { name kind } } } } }';
const schemaAliases = (n: number) =>
  `{ ${Array.from({ length: n }, (_, i) => `a${i}: __schema { types { ...F } }`).join(' ')} } ${TYPE_FRAGMENT}`;
/** Aliases below the root, so that only the alias limit is crossed. */
const nestedAliases = (n: number) => `{ account(id: "acc") { ${Array.from({ length: n }, (_, i) => `a${i}: balance`).join(' ')} } }`;
const accountAliases = (n: number) =>
  `{ ${Array.from({ length: n }, (_, i) => `a${i}: account(id: "acc-${i}") { id balance }`).join(' ')} }`;

interface Answer {
  status: number;
  bytes: number;
  code: string | undefined;
  message: string | undefined;
}

async function postQuery(query: string, bearer: string | null): Promise<Answer> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer && { authorization: `Bearer ${bearer}` }) },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  const body = JSON.parse(text) as { errors?: { message: string; extensions?: { code?: string } }[] };
  return {
    status: response.status,
    bytes: Buffer.byteLength(text),
    code: body.errors?.[0]?.extensions?.code,
    message: body.errors?.[0]?.message,
  };
}

/** Sends `query` and, while it is in flight, a /healthz probe; the answer and how long the probe took. */
async function withProbe(label: string, query: string, bearer: string | null): Promise<Answer> {
  const answer = postQuery(query, bearer);
  const begun = performance.now();
  const probe = await fetch(`${url}/healthz`);
  const probeMs = performance.now() - begun;
  expect(probe.status).toBe(200);
  probeLatencies[label] = Math.round(probeMs);
  // A sanity bound only: issue 21 measured 1.7-2.0 s of delay before this fix.
  expect(probeMs).toBeLessThan(1500);
  return answer;
}

describe('operation limits over HTTP', () => {
  it('should refuse an unauthenticated 4,000-alias introspection attack with 401 UNAUTHENTICATED and a tiny body', async () => {
    const query = schemaAliases(4000);
    expect(query.length).toBeGreaterThan(80_000);
    const answer = await withProbe('anonymous 4000 aliases', query, null);
    expect([answer.status, answer.code]).toEqual([401, 'UNAUTHENTICATED']);
    expect(answer.bytes).toBeLessThan(512);
  });

  it('should refuse the same attack from a caller with a token as QUERY_TOO_COMPLEX, stopped by the token limit', async () => {
    const answer = await withProbe('token 4000 aliases', schemaAliases(4000), admin);
    expect([answer.status, answer.code]).toEqual([400, 'QUERY_TOO_COMPLEX']);
    expect(answer.message).toBe('the document has more than 1000 tokens; the limit is 1000 (GRAPHQL_MAX_TOKENS)');
    expect(answer.bytes).toBeLessThan(512);
  });

  it.each([
    ['nested aliases', nestedAliases(31), 'the document has 31 aliases; the limit is 30 (GRAPHQL_MAX_ALIASES)'],
    ['aliases of __schema', schemaAliases(31), 'the document has 31 aliases; the limit is 30 (GRAPHQL_MAX_ALIASES)'],
    ['aliases of account', accountAliases(31), 'the document has 31 aliases; the limit is 30 (GRAPHQL_MAX_ALIASES)'],
    ['200 aliases of account', accountAliases(200), 'the document has more than 1000 tokens; the limit is 1000 (GRAPHQL_MAX_TOKENS)'],
    [
      'depth through introspection',
      `{ __type(name: "Query") { ${'ofType { '.repeat(20)}name${' }'.repeat(20)} } }`,
      'the operation nests 22 fields deep; the limit is 20 (GRAPHQL_MAX_DEPTH)',
    ],
    [
      'cost',
      `{ ${Array.from({ length: 9 }, (_, i) => `p${i}: orders(accountId: "a", first: 100) { edges { node { id amount currency product } } }`).join(' ')} }`,
      'the operation may resolve about 5409 fields: ask for smaller pages or fewer aliases; the limit is 5000 (GRAPHQL_MAX_COST)',
    ],
    [
      'directives',
      `{ __typename ${'@include(if: true) '.repeat(21)}}`,
      'the document has 21 directives; the limit is 20 (GRAPHQL_MAX_DIRECTIVES)',
    ],
    [
      'root fields',
      `{ ${Array.from({ length: 11 }, (_, i) => `t${i}: __typename`).join(' ')} }`,
      'the operation asks for 11 root fields; the limit is 10 (GRAPHQL_MAX_ROOT_FIELDS)',
    ],
  ])(
    'should refuse %s over the default limit with 400 QUERY_TOO_COMPLEX naming it, before anything runs',
    async (label, query, message) => {
      const answer = await withProbe(label, query, admin);
      expect([answer.status, answer.code, answer.message]).toEqual([400, 'QUERY_TOO_COMPLEX', message]);
      expect(answer.bytes).toBeLessThan(512);
    },
  );

  it('should let an operation just within every limit through', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 10n);
    const aliases = Array.from({ length: 10 }, (_, i) => `a${i}: account(id: "${account}") { id balance }`).join(' ');
    const answer = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query: `{ ${aliases} }` }),
    });
    const body = (await answer.json()) as { data?: Record<string, { balance: string }> };
    expect(Object.values(body.data ?? {}).map((a) => a.balance)).toEqual(Array(10).fill('10'));
  });

  it("should answer GraphiQL's own introspection query within the default limits where introspection is on", async () => {
    const introspecting = await startInProcessGateway({ ...env, GRAPHQL_INTROSPECTION: 'true' });
    cleanups.push(introspecting.stop);
    const query = getIntrospectionQuery({ inputValueDeprecation: true, schemaDescription: true });
    const response = await fetch(`${introspecting.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
      body: JSON.stringify({ query, operationName: 'IntrospectionQuery' }),
    });
    const body = (await response.json()) as { data?: { __schema: { queryType: { name: string } } }; errors?: unknown };
    expect([response.status, body.errors, body.data?.__schema.queryType.name]).toEqual([200, undefined, 'Query']);
  });

  it('should suggest no field names in validation errors where introspection is off', async () => {
    const answer = await postQuery('{ acount(id: "x") { id } }', admin);
    expect([answer.status, answer.code, answer.message]).toEqual([
      400,
      'GRAPHQL_VALIDATION_FAILED',
      'Cannot query field "acount" on type "Query".',
    ]);
  });

  it('should refuse every document without a token before parsing it, GET included, and still serve health and metrics', async () => {
    expect((await postQuery('{ __typename }', null)).status).toBe(401);
    expect((await postQuery('{ this is not graphql', null)).code).toBe('UNAUTHENTICATED');
    const get = await fetch(`${url}/graphql?query=${encodeURIComponent('{ __typename }')}`, { headers: { accept: 'application/json' } });
    expect(get.status).toBe(401);
    expect(((await get.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
  });

  it('should count every document toward its caller’s rate before parsing it: over its rate, an oversized one is RATE_LIMITED', async () => {
    const limited = await startInProcessGateway({ ...env, RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '2' });
    cleanups.push(limited.stop);
    const flooder = await token({ sub: uniqueName('flooder'), scope: [] });
    const post = (query: string) =>
      fetch(`${limited.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${flooder}` },
        body: JSON.stringify({ query }),
      }).then(async (response) => [
        response.status,
        ((await response.json()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code,
      ]);
    expect(await post(schemaAliases(4000))).toEqual([400, 'QUERY_TOO_COMPLEX']);
    expect(await post('{ __schema { queryType { name } } }')).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
    expect(await post(schemaAliases(4000))).toEqual([429, 'RATE_LIMITED']);
  });
});

describe('operation limits over websockets', () => {
  it('should end each operation over a limit with QUERY_TOO_COMPLEX and a small message, keeping the socket', async () => {
    const connection = connect(url, admin, { lazy: false });
    cleanups.push(() => connection.close());
    const cases: [string, string][] = [
      [schemaAliases(4000), 'the document has more than 1000 tokens; the limit is 1000 (GRAPHQL_MAX_TOKENS)'],
      [accountAliases(200), 'the document has more than 1000 tokens; the limit is 1000 (GRAPHQL_MAX_TOKENS)'],
      [nestedAliases(31), 'the document has 31 aliases; the limit is 30 (GRAPHQL_MAX_ALIASES)'],
      [
        `{ __type(name: "Query") { ${'ofType { '.repeat(20)}name${' }'.repeat(20)} } }`,
        'the operation nests 22 fields deep; the limit is 20 (GRAPHQL_MAX_DEPTH)',
      ],
    ];
    for (const [query, message] of cases) {
      const begun = performance.now();
      const refused = connection.run(query);
      const probe = await fetch(`${url}/healthz`);
      expect(probe.status).toBe(200);
      probeLatencies[`websocket: ${message.split(';')[0]}`] = Math.round(performance.now() - begun);
      await waitFor(`the refusal of ${message}`, () => (refused.errors.length > 0 ? true : undefined));
      expect(refused.errors.map((e) => [e.extensions?.code, e.message])).toEqual([['QUERY_TOO_COMPLEX', message]]);
      expect(Buffer.byteLength(JSON.stringify(refused.errors))).toBeLessThan(512);
    }
    // Introspection is off outside development: refused with its setting named, suggesting nothing.
    const introspection = connection.run('{ __schema { queryType { name } } acount(id: "x") { id } }');
    await waitFor('the introspection refusal', () => (introspection.errors.length > 0 ? true : undefined));
    expect(introspection.errors.map((e) => e.message)).toEqual([
      'introspection is turned off on this gateway (GRAPHQL_INTROSPECTION=false)',
      'Cannot query field "acount" on type "Query".',
    ]);
    expect(connection.closeCodes).toEqual([]);
  });
});
