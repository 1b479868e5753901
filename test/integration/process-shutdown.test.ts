import { createServer } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, graphql, startGatewayProcess } from '../support/gateway.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { testKafka, uniqueName, waitFor } from '../support/resources.js';
import { connect, subscribe } from '../support/subscriber.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

// These processes run with NODE_ENV=production, as deployed: libraries change behaviour under NODE_ENV=test
// (Apollo installs its own signal handlers only outside tests), and shutdown must work as it will in production.
const cleanups = cleanupList();
let env: TestGatewayEnv;
let topic: string;
let prefix: string;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'shutdown', { NODE_ENV: 'production', SHUTDOWN_TIMEOUT_MS: '5000' });
  topic = env.ORDERS_TOPIC;
  prefix = env.KAFKA_GROUP_PREFIX;
});

afterAll(() => cleanups.run());

const RELAY_ACTIVE = 'outbox relay is active on this process';

/** Places orders on `account` one after another until stopped; `stop()` resolves to the ids placed, in order. */
function placeOrdersUntilStopped(url: string, bearer: string, account: string) {
  const placed: string[] = [];
  const failures: unknown[] = [];
  let stopped = false;
  const loop = (async () => {
    for (let i = 0; !stopped; i++) {
      const response = await graphql(url, PLACE, { input: orderInput(account, 1, `flow-${i}`) }, bearer);
      if (response.errors) failures.push(response.errors);
      else placed.push(response.data?.placeOrder.id);
    }
  })();
  return {
    placed,
    failures,
    async stop() {
      stopped = true;
      await loop;
      return placed;
    },
  };
}

/** The HTTP status a websocket upgrade to /graphql gets (101 when accepted). */
function upgradeStatus(httpUrl: string, bearer: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', {
      headers: { authorization: `Bearer ${bearer}` },
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('open', () => {
      resolve(101);
      socket.terminate();
    });
    socket.once('error', (error) => reject(error));
  });
}

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the gateway process on SIGTERM and SIGINT', () => {
  it('should complete its subscriptions, close their sockets with 1001, commit what they received, and exit 0 on SIGTERM', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const gateway = await startGatewayProcess(env);
    cleanups.push(() => gateway.kill());
    const admin = await adminToken();
    const account = uniqueName('acc');
    await openFundedAccount(gateway.url, admin, account, 1_000_000n);
    const subscriberId = uniqueName('ledger');
    // Not lazy: the socket stays open after its subscription completes, so the server's close code is what it sees.
    const connection = connect(gateway.url, admin, { lazy: false });
    cleanups.push(() => connection.close());
    const subscriber = connection.subscribe({ filter: { accountId: account }, subscriberId, start: 'EARLIEST' });

    const placed: string[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await graphql(gateway.url, PLACE, { input: orderInput(account, 1, `order-${i}`) }, admin);
      expect(response.errors).toBeUndefined();
      placed.push(response.data?.placeOrder.id);
    }
    await subscriber.received(placed.length);

    expect(await gateway.kill('SIGTERM')).toBe(0);
    expect(gateway.logged('"msg":"stopped"')).toBe(true);
    expect(subscriber.completed).toBe(true);
    expect(subscriber.errors).toEqual([]);
    expect(connection.closeCodes).toEqual([1001]);
    expect(subscriber.events.map((e) => e.order.id)).toEqual(placed);

    // Every record of the account's partition was delivered, so the group's committed offset is its end.
    const kafkaAdmin = testKafka().admin();
    await kafkaAdmin.connect();
    try {
      const ends = await kafkaAdmin.fetchTopicOffsets(topic);
      const [committed] = await kafkaAdmin.fetchOffsets({ groupId: `${prefix}.admin.${subscriberId}`, topics: [topic] });
      const written = ends.filter((p) => p.high !== '0');
      expect(written).toHaveLength(1);
      const partition = written[0]!;
      expect(committed?.partitions.find((p) => p.partition === partition.partition)?.offset).toBe(partition.high);
    } finally {
      await kafkaAdmin.disconnect();
    }
  });

  it('should drain on SIGTERM while orders flow: 503 at once, subscriptions completed, and a durable subscriber resumes on another gateway with nothing missed', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const drainDelayMs = 1500;
    const draining = await startGatewayProcess({ ...env, DRAIN_DELAY_MS: String(drainDelayMs) });
    cleanups.push(() => draining.kill());
    // The draining gateway holds the relay lease, so its relay stops mid-stream and the other one takes over.
    await waitFor('the first gateway to take the relay lease', () => (draining.logged(RELAY_ACTIVE) ? true : undefined));
    const staying = await startGatewayProcess(env);
    cleanups.push(() => staying.kill());
    const admin = await adminToken();
    const account = uniqueName('acc');
    await openFundedAccount(staying.url, admin, account, 1_000_000n);

    const subscriberId = uniqueName('drain');
    const first = subscribe(draining.url, admin, { filter: { accountId: account }, subscriberId, start: 'EARLIEST' });
    cleanups.push(() => first.close());
    const flow = placeOrdersUntilStopped(staying.url, admin, account);
    cleanups.push(() => flow.stop());
    await first.received(5);

    const exited = draining.kill('SIGTERM');
    const readiness = await waitFor(
      '/readyz of the draining gateway to answer 503',
      async () => {
        const response = await fetch(`${draining.url}/readyz`);
        return response.status === 503 ? ((await response.json()) as { status: string }) : undefined;
      },
      drainDelayMs,
    );
    expect(readiness.status).toBe('shutting-down');
    expect(await upgradeStatus(draining.url, admin)).toBe(503);

    expect(await exited).toBe(0);
    expect(first.completed).toBe(true);
    expect(first.errors).toEqual([]);
    const placedDuringDrain = flow.placed.length;
    await waitFor('orders placed after the drain', () => (flow.placed.length >= placedDuringDrain + 5 ? true : undefined));
    const placed = await flow.stop();
    expect(flow.failures).toEqual([]);

    const second = subscribe(staying.url, admin, { filter: { accountId: account }, subscriberId, start: 'COMMITTED' });
    cleanups.push(() => second.close());
    const sql = postgres(env.DATABASE_URL, { max: 1, onnotice: () => {} });
    cleanups.push(() => sql.end());
    const published = await sql<{ event_id: string; order_id: string }[]>`
      select event_id, value->'data'->>'id' as order_id from outbox where key = ${account} order by id`;
    expect(published.map((row) => row.order_id)).toEqual(placed);
    const seen = () => new Set([...first.events, ...second.events].map((e) => e.eventId));
    await waitFor(`every published order at one of the two subscriptions (${published.length})`, () =>
      published.every((row) => seen().has(row.event_id)) ? true : undefined,
    );
    // Resumed from the drained gateway's commit, not from the start: a repeat is at most what it had in flight.
    const firstIds = new Set(first.events.map((e) => e.eventId));
    const resumedAt = published.findIndex((row) => !firstIds.has(row.event_id));
    expect(second.events[0]?.eventId).toBe(published[resumedAt]?.event_id);
    expect(second.events.map((e) => e.eventId)).toEqual(published.slice(resumedAt).map((row) => row.event_id));
    expect(first.events.map((e) => e.eventId)).toEqual(published.slice(0, resumedAt).map((row) => row.event_id));
  });

  it('should stop at start-up with one line naming the address when the port is taken', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => holder.close(resolve)));
    const { port } = holder.address() as { port: number };
    const failed = await startGatewayProcess({ ...env, PORT: String(port) }).then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(failed).toMatch(/^gateway exited 1:/);
    expect(failed).toContain(`127.0.0.1:${port} is already in use: stop the process that holds it, or set PORT to a free port`);
    expect(failed).not.toContain('Internal error emitted on the WebSocket server');
  });

  it('should exit 0 on SIGINT while Kafka is unreachable', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const gateway = await startGatewayProcess({ ...env, KAFKA_BROKERS: `127.0.0.1:${await closedPort()}` });
    cleanups.push(() => gateway.kill());
    expect(await gateway.kill('SIGINT')).toBe(0);
    expect(gateway.logged('"msg":"stopped"')).toBe(true);
  });
});
