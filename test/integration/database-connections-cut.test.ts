import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, errorCode, graphql, startGatewayProcess } from '../support/gateway.js';
import { DEPOSIT, openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let env: TestGatewayEnv;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'cut', { RATE_LIMIT_PER_SECOND: '0' });
});

afterAll(() => cleanups.run());

const ACCOUNTS = 3;
const WRITERS = 4;
const CUTS = 15;

describe('every database session of a gateway cut, again and again, under writes', () => {
  it('should keep the gateway running, answer SERVICE_UNAVAILABLE meanwhile, and lose or double nothing', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const gateway = await startGatewayProcess(env);
    cleanups.push(() => gateway.kill());
    const bearer = await adminToken();
    const prefix = uniqueName('cut');
    const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `${prefix}-${i}`);
    for (const account of accounts) await openFundedAccount(gateway.url, bearer, account, 1_000_000n);

    // Deposits and orders alternate: before the fix a deposit (a transaction) cut mid-way ended the process.
    const codes = new Map<string, number>();
    const unanswered: { kind: 'deposit' | 'order'; account: string; key: string }[] = [];
    let writing = true;
    let sequence = 0;
    const send = (kind: 'deposit' | 'order', account: string, key: string) =>
      kind === 'deposit'
        ? graphql(gateway.url, DEPOSIT, { input: { accountId: account, amount: '3', idempotencyKey: key } }, bearer)
        : graphql(gateway.url, PLACE, { input: orderInput(account, 2, key) }, bearer);
    const writer = async () => {
      while (writing) {
        const n = sequence++;
        const request = {
          kind: n % 2 ? ('order' as const) : ('deposit' as const),
          account: accounts[n % ACCOUNTS]!,
          key: `${prefix}-w${n}`,
        };
        const code = errorCode(await send(request.kind, request.account, request.key)) ?? 'ok';
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (code !== 'ok') unanswered.push(request);
      }
    };
    const writers = Array.from({ length: WRITERS }, writer);

    const databaseName = new URL(env.DATABASE_URL).pathname.slice(1);
    const admin = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {} });
    cleanups.push(() => admin.end());
    let cut = 0;
    for (let round = 0; round < CUTS; round++) {
      const before = sequence;
      await waitFor('writes between cuts', () => (sequence >= before + 10 ? true : undefined));
      const ended = await admin`
        select pg_terminate_backend(pid) from pg_stat_activity where datname = ${databaseName} and pid <> pg_backend_pid()`;
      cut += ended.length;
      expect(gateway.exitCode(), `the gateway exited after cut ${round + 1}:\n${gateway.lines.slice(-20).join('\n')}`).toBeNull();
    }
    writing = false;
    await Promise.all(writers);

    // Only the outage's own code, never an internal error; then every refused request succeeds on retry.
    expect([...codes.keys()].sort()).toEqual(codes.has('SERVICE_UNAVAILABLE') ? ['SERVICE_UNAVAILABLE', 'ok'] : ['ok']);
    // A client's retry with the same key, as the error asks, until it succeeds (the pool reconnects on demand).
    for (const request of unanswered) {
      await waitFor(`a retry of ${request.key} to succeed`, async () => {
        const code = errorCode(await send(request.kind, request.account, request.key));
        expect([undefined, 'SERVICE_UNAVAILABLE']).toContain(code);
        return code === undefined ? true : undefined;
      });
    }
    expect(gateway.exitCode()).toBeNull();
    expect(cut).toBeGreaterThanOrEqual(CUTS);

    // Each request took effect exactly once: deposits of 3 and orders of 2, one row per key.
    const deposits = Math.ceil(sequence / 2);
    const orders = Math.floor(sequence / 2);
    const [totals] = await admin<{ balances: string; deposits: string; orders: string }[]>`
      select (select sum(balance) from accounts where id like ${`${prefix}-%`})::text as balances,
             (select count(*) from deposits where idempotency_key like ${`${prefix}-w%`})::text as deposits,
             (select count(*) from orders where idempotency_key like ${`${prefix}-w%`})::text as orders`;
    expect({ deposits: Number(totals?.deposits), orders: Number(totals?.orders) }).toEqual({ deposits, orders });
    expect(BigInt(totals?.balances ?? '0')).toBe(BigInt(ACCOUNTS) * 1_000_000n + BigInt(deposits * 3) - BigInt(orders * 2));
    console.log(`database cuts: ${cut} sessions ended in ${CUTS} rounds; answers ${JSON.stringify(Object.fromEntries(codes))}`);
  });
});
