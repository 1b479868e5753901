import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, startGatewayProcess } from '../support/gateway.js';
import { openFundedAccount, placeOrdersOn } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { subscribe } from '../support/subscriber.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let env: TestGatewayEnv;
let gateway: Awaited<ReturnType<typeof startGatewayProcess>>;
let admin: string;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'logs');
  // debug: one line per HTTP request ("request finished"), which info leaves out.
  gateway = await startGatewayProcess({ ...env, LOG_LEVEL: 'debug' });
  cleanups.push(() => gateway.kill());
  admin = await adminToken();
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(() => cleanups.run());

type LogEntry = Record<string, unknown> & { msg?: string };
const entries = (): LogEntry[] =>
  gateway.lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as LogEntry];
    } catch {
      return [];
    }
  });

async function post(headers: Record<string, string>, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  await response.arrayBuffer();
  return response.headers.get('x-request-id');
}

describe('correlation ids in the log', () => {
  it('should give each HTTP request a requestId, the sane one it sent or a new one, echoed in x-request-id and on its lines', async () => {
    const sent = `test-${uniqueName('req')}`;
    expect(await post({ 'x-request-id': sent }, '{ __typename }')).toBe(sent);
    const replaced = await post({ 'x-request-id': 'has spaces and is not a token' }, '{ __typename }');
    const tooLong = await post({ 'x-request-id': 'a'.repeat(129) }, '{ __typename }');
    const none = await post({}, '{ __typename }');
    for (const generated of [replaced, tooLong, none]) expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set([replaced, tooLong, none]).size).toBe(3);

    for (const requestId of [sent, replaced, tooLong, none]) {
      const lines = await waitFor(`the log lines of request ${requestId}`, () => {
        const found = entries().filter((e) => e.requestId === requestId);
        return found.length > 0 ? found : undefined;
      });
      expect(lines.map((e) => [e.msg, e.status])).toEqual([['request finished', 200]]);
    }
  });

  it("should put connectionId, operationId and the group on every line of a subscription, and connectionId on its socket's lines", {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const account = uniqueName('acc');
    await openFundedAccount(gateway.url, admin, account, 1000n);
    const placed = await placeOrdersOn(gateway.url, admin, account, 2, 'logs');
    const subscriberId = uniqueName('logged');
    const durable = subscribe(gateway.url, admin, { filter: { accountId: account }, subscriberId, start: 'EARLIEST' });
    const ephemeral = subscribe(gateway.url, admin, { filter: { accountId: account }, start: 'EARLIEST' });
    cleanups.push(
      () => durable.close(),
      () => ephemeral.close(),
    );
    await durable.received(placed.length);
    await ephemeral.received(placed.length);
    await durable.close();
    await ephemeral.close();

    const ofSubscription = (group: (g: string) => boolean) =>
      waitFor('the subscription to start, end and its socket to close', () => {
        const lines = entries().filter((e) => typeof e.group === 'string' && group(e.group));
        const connectionId = lines[0]?.connectionId;
        const closed = entries().some((e) => e.connectionId === connectionId && e.msg === 'websocket connection closed');
        return lines.some((e) => e.msg === 'subscription ended') && closed ? { lines, connectionId } : undefined;
      });
    const durableLog = await ofSubscription((g) => g === `${env.KAFKA_GROUP_PREFIX}.admin.${subscriberId}`);
    const ephemeralLog = await ofSubscription((g) => g.startsWith(`${env.KAFKA_GROUP_PREFIX}.ephemeral.`));
    for (const { lines, connectionId } of [durableLog, ephemeralLog]) {
      expect(lines.map((e) => e.msg)).toEqual(['subscription started', 'subscription ready', 'subscription ended']);
      expect(connectionId).toMatch(/^[0-9a-f-]{36}$/);
      expect(new Set(lines.map((e) => e.connectionId))).toEqual(new Set([connectionId]));
      expect(lines.every((e) => typeof e.operationId === 'string' && e.operationId.length > 0)).toBe(true);
      expect(new Set(lines.map((e) => e.operationId)).size).toBe(1);
      expect(lines[2]?.delivered).toBe(placed.length);
      // The socket's own lines carry the same connectionId, and another socket's a different one.
      const socketLines = entries().filter((e) => e.connectionId === connectionId && e.group === undefined);
      expect(socketLines.map((e) => e.msg)).toEqual(['websocket connection opened', 'websocket connection closed']);
    }
    expect(durableLog.connectionId).not.toBe(ephemeralLog.connectionId);
    expect(durableLog.lines[0]).toMatchObject({ durable: true, start: 'EARLIEST' });
  });
});
