import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, startGatewayProcess, startInProcessGateway, token } from '../support/gateway.js';
import { openFundedAccount, placeOrdersOn } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { openSse, type SseRequest, type SseStream, sseClientSubscribe, sseRefusal } from '../support/sse.js';
import { ORDER_SETTLED, type SettledEvent } from '../support/subscriber.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

// Two gateways on one database and topic: a gateway that shuts down completes its SSE streams, and a client resumes
// on the other with Last-Event-ID (CONTRACT.md, "GraphQL over Server-Sent Events") with nothing skipped or repeated.

type Gateway = Awaited<ReturnType<typeof startInProcessGateway>>;

const cleanups = cleanupList();
let env: TestGatewayEnv;
let admin: string;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'sse-resume');
  admin = await adminToken();
});

afterAll(() => cleanups.run());

/** A gateway of this file's environment; stop() may be called by the test, and clean-up stops it only if not. */
async function gateway(): Promise<Gateway> {
  const started = await startInProcessGateway(env);
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= started.stop();
    return stopped;
  };
  cleanups.push(stop);
  return { ...started, stop };
}

async function stream(url: string, request: SseRequest): Promise<SseStream> {
  const opened = await openSse(url, request);
  cleanups.push(() => opened.close());
  return opened;
}

const settled = (variables: Record<string, unknown>): SseRequest => ({ query: ORDER_SETTLED, variables });

describe('SSE across gateway restarts', () => {
  it('should complete SSE streams on shutdown, and resume on another gateway after Last-Event-ID with nothing skipped or repeated', async () => {
    const first = await gateway();
    const second = await gateway();
    const account = uniqueName('acc');
    await openFundedAccount(first.url, admin, account, 1_000_000n);
    const placedBefore = await placeOrdersOn(first.url, admin, account, 4, 'before');
    const reader = await token({ sub: 'sse-resumer', scope: ['orders:read:all'] });

    const raw = await stream(first.url, { bearer: reader, ...settled({ filter: { accountId: account }, start: 'EARLIEST' }) });
    const viaClient = sseClientSubscribe(first.url, reader, { filter: { accountId: account }, start: 'EARLIEST' });
    cleanups.push(() => viaClient.close());
    await raw.received(4);
    await viaClient.received(4);
    expect(raw.events.map((e) => e.order.id)).toEqual(placedBefore);

    // Shutdown: each stream gets complete, not an error, and the response ends.
    await first.stop();
    await raw.untilCompleted(10_000);
    expect(raw.messages.at(-1)?.event).toBe('complete');
    expect(raw.errors).toEqual([]);
    await waitFor('the response to end', () => (raw.ended ? true : undefined), 5000);
    await waitFor('the graphql-sse client to see complete', () => (viaClient.completed ? true : undefined), 10_000);
    expect(viaClient.errors).toEqual([]);

    // While the client is away, orders go on settling on the other gateway.
    const placedAway = await placeOrdersOn(second.url, admin, account, 3, 'away');
    const resumeAfter = raw.eventIds[1];
    expect(resumeAfter).toBe(raw.events[1]!.cursor);
    const resumed = await stream(second.url, { bearer: reader, lastEventId: resumeAfter, ...settled({ filter: { accountId: account } }) });
    expect(resumed.status).toBe(200);
    await resumed.received(5);
    const [sentinel] = await placeOrdersOn(second.url, admin, account, 1, 'sentinel');
    await waitFor('the sentinel order', () => (resumed.events.some((e: SettledEvent) => e.order.id === sentinel) ? true : undefined));
    expect(resumed.events.map((e) => e.order.id)).toEqual([...placedBefore.slice(2), ...placedAway, sentinel]);
    expect(resumed.eventIds).toEqual(resumed.events.map((e) => e.cursor));

    // The last id of the resumed stream resumes again on a restarted gateway: nothing left to send until a new order.
    const lastId = resumed.eventIds.at(-1);
    resumed.close();
    await second.stop();
    const restarted = await gateway();
    const again = await stream(restarted.url, { bearer: reader, lastEventId: lastId, ...settled({ filter: { accountId: account } }) });
    const [next] = await placeOrdersOn(restarted.url, admin, account, 1, 'after-restart');
    await again.received(1);
    expect(again.events.map((e) => e.order.id)).toEqual([next]);
    again.close();
  }, 120_000);

  it('should complete SSE streams when the gateway process gets SIGTERM, and exit 0', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const process = await startGatewayProcess(env);
    cleanups.push(() => process.kill());
    const account = uniqueName('acc');
    await openFundedAccount(process.url, admin, account, 1_000_000n);
    const placed = await placeOrdersOn(process.url, admin, account, 2, 'before-sigterm');
    const reader = await token({ sub: 'sse-sigterm', scope: ['orders:read:all'] });
    const raw = await stream(process.url, {
      method: 'GET',
      accessToken: reader,
      ...settled({ filter: { accountId: account }, subscriberId: uniqueName('sigterm'), start: 'EARLIEST' }),
    });
    await raw.received(2);
    // A refused GET stream's token stays out of the log as well.
    const expired = await token({ sub: 'sse-sigterm', scope: ['orders:read:all'], expiresInSeconds: -5 });
    const refused = await sseRefusal(process.url, { method: 'GET', accessToken: expired, ...settled({ filter: { accountId: account } }) });
    expect(refused.status).toBe(401);
    expect(await process.kill('SIGTERM')).toBe(0);
    await raw.untilCompleted(5000);
    expect(raw.messages.at(-1)?.event).toBe('complete');
    expect(raw.errors).toEqual([]);
    expect(raw.events.map((e) => e.order.id)).toEqual(placed);
    await waitFor('the response to end', () => (raw.ended ? true : undefined), 5000);
    // Query strings are never logged: the access_token of an EventSource stays out of the log (LOG_LEVEL=info).
    expect(process.lines.length).toBeGreaterThan(0);
    expect(process.lines.filter((line) => line.includes(reader) || line.includes(expired))).toEqual([]);
  });
});
