import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, graphql, startGatewayProcess } from '../support/gateway.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { testKafka, uniqueName } from '../support/resources.js';
import { subscribe } from '../support/subscriber.js';
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

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the gateway process on SIGTERM and SIGINT', () => {
  it('should close its subscribers, commit what they received, and exit 0 on SIGTERM', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const gateway = await startGatewayProcess(env);
    cleanups.push(() => gateway.kill());
    const admin = await adminToken();
    const account = uniqueName('acc');
    await openFundedAccount(gateway.url, admin, account, 1_000_000n);
    const subscriberId = uniqueName('ledger');
    const subscriber = subscribe(gateway.url, admin, { filter: { accountId: account }, subscriberId, start: 'EARLIEST' });
    cleanups.push(() => subscriber.close());

    const placed: string[] = [];
    for (let i = 0; i < 12; i++) {
      const response = await graphql(gateway.url, PLACE, { input: orderInput(account, 1, `order-${i}`) }, admin);
      expect(response.errors).toBeUndefined();
      placed.push(response.data?.placeOrder.id);
    }
    await subscriber.received(placed.length);

    expect(await gateway.kill('SIGTERM')).toBe(0);
    expect(gateway.logged('"msg":"stopped"')).toBe(true);
    expect(subscriber.closeCodes).toContain(1001);
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
