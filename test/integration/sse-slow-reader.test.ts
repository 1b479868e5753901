import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, startInProcessGateway, token } from '../support/gateway.js';
import { openFundedAccount, placeOrdersOn } from '../support/orders.js';
import { readTopic, testKafka, uniqueName, waitFor } from '../support/resources.js';
import { openSse, type SseStream, untilStreamsLive } from '../support/sse.js';
import { ORDER_SETTLED, type SettledEvent, subscribe, untilLive } from '../support/subscriber.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

// A client that stops reading its SSE response is a slow client, as a websocket one is (issue 23): once its writes
// wait on the TCP buffers, an ephemeral subscription that falls SUBSCRIPTION_WINDOW_RECORDS behind the live read
// ends with SUBSCRIBER_TOO_SLOW; a durable one falls behind and catches up with nothing missed.
//
// Loopback TCP buffers hold about 4 MB of a response nobody reads, so the records are large (64 KiB each): 160 of
// them (10 MiB) fill the buffers and then overrun the window several times.

const WINDOW_RECORDS = 20;
const BIG_RECORDS = 160;
const REFERENCE_BYTES = 64 * 1024;
const cleanups = cleanupList();
let env: TestGatewayEnv;
let url: string;
let admin: string;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'sse-slow', { SUBSCRIPTION_WINDOW_RECORDS: String(WINDOW_RECORDS) });
  const gateway = await startInProcessGateway(env);
  cleanups.push(gateway.stop);
  url = gateway.url;
  admin = await adminToken();
});

afterAll(() => cleanups.run());

async function stream(variables: Record<string, unknown>, bearer: string): Promise<SseStream> {
  const opened = await openSse(url, { bearer, query: ORDER_SETTLED, variables });
  cleanups.push(() => opened.close());
  return opened;
}

/**
 * Publishes `count` settled-order records of `account` with a large `reference`, copied from one the gateway's own
 * relay published (same envelope, key and partition, fresh ids), straight to the topic: placing orders one by one
 * would be far slower. Returns the order ids in the order published.
 */
async function publishBigOrders(account: string, count: number): Promise<string[]> {
  const [model] = await readTopic(env.ORDERS_TOPIC, 1, {
    until: (records) => records.some((r) => r.key === account),
    settleMs: 0,
  }).then((records) => records.filter((r) => r.key === account));
  if (!model) throw new Error(`no record of ${account} on ${env.ORDERS_TOPIC}`);
  const envelope = JSON.parse(model.value) as { id: string; subject?: string; data: Record<string, unknown> };
  const reference = 'x'.repeat(REFERENCE_BYTES);
  const ids: string[] = [];
  const producer = testKafka().producer();
  await producer.connect();
  try {
    // Ten records a send keeps each batch under the broker's 1 MB message limit.
    for (let sent = 0; sent < count; sent += 10) {
      const messages = Array.from({ length: Math.min(10, count - sent) }, (_, i) => {
        const id = uniqueName(`big-${sent + i}`);
        ids.push(id);
        const value = { ...envelope, id: uniqueName('event'), subject: id, data: { ...envelope.data, id, reference, idempotencyKey: id } };
        return { key: account, value: JSON.stringify(value), partition: model.partition, headers: model.headers };
      });
      await producer.send({ topic: env.ORDERS_TOPIC, messages });
    }
  } finally {
    await producer.disconnect();
  }
  return ids;
}

describe('an SSE client that stops reading', () => {
  it('should end an ephemeral stream with SUBSCRIBER_TOO_SLOW once it falls a window behind, and let a durable one catch up', async () => {
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000_000n);
    // A websocket subscriber that keeps reading: the live read goes on for it while the streams stall.
    const fast = subscribe(url, admin, { filter: { accountId: account } });
    cleanups.push(() => fast.close());
    const reader = await token({ sub: 'sse-slow', scope: ['orders:read:all'] });
    const ephemeral = await stream({ filter: { accountId: account } }, reader);
    const durable = await stream({ filter: { accountId: account }, subscriberId: uniqueName('slow') }, reader);
    await untilLive([fast], (i) => placeOrdersOn(url, admin, account, 1, `warm-ws-${i}`).then(() => {}));
    await untilStreamsLive([ephemeral, durable], (i) => placeOrdersOn(url, admin, account, 1, `warm-sse-${i}`));
    const afterWarmUp = (events: readonly SettledEvent[]) => events.filter((e) => !e.order.idempotencyKey.startsWith('warm-'));

    ephemeral.pauseReading();
    durable.pauseReading();
    const big = await publishBigOrders(account, BIG_RECORDS);
    const bigOf = (events: readonly SettledEvent[]) => events.filter((e) => e.order.idempotencyKey.startsWith('big-'));
    await waitFor(
      `the reading subscriber to get all ${BIG_RECORDS}`,
      () => (bigOf(fast.events).length >= BIG_RECORDS ? true : undefined),
      60_000,
    );
    expect(bigOf(fast.events).map((e) => e.order.id)).toEqual(big);

    ephemeral.resumeReading();
    durable.resumeReading();
    await ephemeral.untilCompleted(30_000);
    const [last, complete] = ephemeral.messages.slice(-2);
    expect(complete?.event).toBe('complete');
    expect(last?.event).toBe('next');
    expect((JSON.parse(last!.data) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe(
      'SUBSCRIBER_TOO_SLOW',
    );
    // What it did get is the start of the sequence, with no gap: it ended instead of skipping.
    const got = bigOf(afterWarmUp(ephemeral.events)).map((e) => e.order.id);
    expect(got.length).toBeLessThan(BIG_RECORDS);
    expect(got).toEqual(big.slice(0, got.length));

    await waitFor(
      `the durable stream to catch up (${bigOf(durable.events).length} of ${BIG_RECORDS})`,
      () => (bigOf(durable.events).length >= BIG_RECORDS ? true : undefined),
      60_000,
    );
    const [sentinel] = await placeOrdersOn(url, admin, account, 1, 'sentinel');
    await waitFor('the sentinel at the durable stream', () => (durable.events.some((e) => e.order.id === sentinel) ? true : undefined));
    expect(afterWarmUp(durable.events).map((e) => e.order.id)).toEqual([...big, sentinel]);
    expect(durable.errors).toEqual([]);
    expect(durable.completed).toBe(false);
  }, 150_000);
});
