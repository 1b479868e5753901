import { Agent, get } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { startGatewayProcess, startInProcessGateway } from '../support/gateway.js';
import { startPrivateBroker } from '../support/local-kafka.js';
import { sampleValue, scrape } from '../support/metrics.js';
import { type CountingProxy, startPostgresCountingProxy } from '../support/pg-counting-proxy.js';
import { privatePort } from '../support/private-ports.js';
import { sampleConnections } from '../support/process-sockets.js';
import { createTestDatabase, deleteTopic, observeFor, testKafkaBrokers, uniqueName, waitFor } from '../support/resources.js';
import { testGatewayEnv } from '../support/test-env.js';

// A broker of this file's own, for the test that stops Kafka.
const PRIVATE_KAFKA_PORT = privatePort('readinessKafka');
const KAFKA_PORT = Number(testKafkaBrokers()[0]?.split(':')[1]);
const REFRESH_MS = 500;
const cleanups = cleanupList();
let proxy: CountingProxy;
let gateway: Awaited<ReturnType<typeof startGatewayProcess>>;

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'readiness');
  proxy = await startPostgresCountingProxy(env.DATABASE_URL);
  cleanups.push(() => proxy.close());
  gateway = await startGatewayProcess({
    ...env,
    // Every statement of the gateway goes through the proxy, which counts them.
    DATABASE_URL: proxy.through(env.DATABASE_URL),
    READINESS_REFRESH_MS: String(REFRESH_MS),
    // The relay's safety-net poll would add a statement a second beside the checks.
    RELAY_POLL_MS: '60000',
  });
  cleanups.push(() => gateway.kill('SIGTERM'));
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(() => cleanups.run());

interface Readiness {
  status: number;
  body: { status: string; checks?: Record<string, string> };
}

const readyz = async (url: string): Promise<Readiness> => {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as Readiness['body'] };
};
const until = (url: string, status: number, checks: Record<string, string>) =>
  waitFor(`/readyz to answer ${status} ${JSON.stringify(checks)}`, async () => {
    const answer = await readyz(url);
    return answer.status === status && Object.entries(checks).every(([name, value]) => answer.body.checks?.[name] === value)
      ? answer
      : undefined;
  });

/** `total` GET /readyz, `concurrency` at a time on kept-alive connections; resolves with the count of each status. */
async function flood(url: string, total: number, concurrency: number): Promise<Record<number, number>> {
  const { port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses: Record<number, number> = {};
  let sent = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < total) {
          sent++;
          const status = await new Promise<number>((resolve, reject) => {
            get({ host: '127.0.0.1', port, path: '/readyz', agent }, (response) => {
              response.resume();
              response.on('end', () => resolve(response.statusCode ?? 0));
            }).on('error', reject);
          });
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return statuses;
}

const checksOf = async (url: string, dependency: string) =>
  sampleValue(await scrape(url), 'gateway_readiness_checks_total', { dependency, result: 'up' }) ?? 0;

describe('GET /readyz', () => {
  it('should answer a flood of 2,000 at concurrency 50 without a broker connection or a query per request', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const { url, pid } = gateway;
    if (pid === undefined) throw new Error('the gateway process has no pid');
    await until(url, 200, { postgres: 'ok', kafka: 'ok' });
    // Start-up's own connections (the topic check, the relay's lease) are made by the time the engine's lag refresh ran.
    await waitFor('the checks to have run a few times', async () => ((await checksOf(url, 'kafka')) >= 3 ? true : undefined));

    // What the gateway sends PostgreSQL on its own (the checks, the relay's lease and backlog sampler), per second.
    const idleFrom = { statements: proxy.statements, at: performance.now() };
    await observeFor(3000);
    const idlePerSecond = ((proxy.statements - idleFrom.statements) * 1000) / (performance.now() - idleFrom.at);

    const checksBefore = { kafka: await checksOf(url, 'kafka'), postgres: await checksOf(url, 'postgres') };
    const [connectionsBefore, statementsBefore] = [proxy.connections, proxy.statements];
    const applicationsBefore = proxy.applications.length;
    const brokerSockets = sampleConnections(pid, KAFKA_PORT);
    const startedAt = performance.now();
    const statuses = await flood(url, 2000, 50);
    const floodMs = performance.now() - startedAt;
    const broker = await brokerSockets.stop();
    const statements = proxy.statements - statementsBefore;
    const checks = {
      kafka: (await checksOf(url, 'kafka')) - checksBefore.kafka,
      postgres: (await checksOf(url, 'postgres')) - checksBefore.postgres,
    };

    expect(statuses).toEqual({ 200: 2000 });
    // Before: 31-55 broker connections held at once and about one new connection per request.
    expect(broker.opened).toBe(0);
    expect(broker.peak).toBe(brokerSockets.before);
    // Before: one `select 1` per request on the request pool. Now: the checks of the schedule, whatever the requests,
    // and what the gateway sends anyway (a connection its relay opens late is not the flood's).
    const opened = proxy.applications.slice(applicationsBefore);
    expect(
      opened.filter((name) => !name.includes('relay')),
      `connected: ${opened.join(', ')}`,
    ).toEqual([]);
    expect(proxy.connections - connectionsBefore).toBeLessThanOrEqual(2);
    const scheduled = Math.ceil(floodMs / REFRESH_MS) + 2;
    expect(checks.postgres).toBeGreaterThan(0);
    expect(checks.postgres).toBeLessThanOrEqual(scheduled);
    expect(checks.kafka).toBeLessThanOrEqual(scheduled);
    expect(statements).toBeLessThanOrEqual(Math.ceil((2 * idlePerSecond * floodMs) / 1000) + 6);
    expect(statements).toBeLessThan(100);
  });

  it('should answer 503 naming PostgreSQL while it is unreachable, and 200 again once it answers', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const { url } = gateway;
    await until(url, 200, { postgres: 'ok', kafka: 'ok' });
    proxy.cut();
    try {
      const down = await until(url, 503, { postgres: 'failing', kafka: 'ok' });
      expect(down.body.status).toBe('unavailable');
      expect(sampleValue(await scrape(url), 'gateway_dependency_up', { dependency: 'postgres' })).toBe(0);
    } finally {
      proxy.restore();
    }
    await until(url, 200, { postgres: 'ok', kafka: 'ok' });
    expect(sampleValue(await scrape(url), 'gateway_dependency_up', { dependency: 'postgres' })).toBe(1);
  });

  it('should answer 503 naming Kafka while the broker is stopped, and 200 again once it is back', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const broker = await startPrivateBroker(PRIVATE_KAFKA_PORT);
    cleanups.push(() => broker.stop());
    const topic = uniqueName('readiness').replaceAll('_', '-');
    cleanups.push(() => deleteTopic(topic, [broker.brokers]));
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    const ownGateway = await startInProcessGateway({
      DATABASE_URL: db.url,
      KAFKA_BROKERS: broker.brokers,
      ORDERS_TOPIC: topic,
      READINESS_REFRESH_MS: '200',
    });
    cleanups.push(ownGateway.stop);
    const { url } = ownGateway;
    await until(url, 200, { postgres: 'ok', kafka: 'ok' });

    await broker.stop();
    const down = await until(url, 503, { postgres: 'ok', kafka: 'failing' });
    expect(down.body.status).toBe('unavailable');
    expect(sampleValue(await scrape(url), 'gateway_dependency_up', { dependency: 'kafka' })).toBe(0);

    await broker.start();
    // The check's kept admin client connects again by itself.
    await until(url, 200, { postgres: 'ok', kafka: 'ok' });
    expect(sampleValue(await scrape(url), 'gateway_dependency_up', { dependency: 'kafka' })).toBe(1);
    expect(sampleValue(await scrape(url), 'gateway_readiness_checks_total', { dependency: 'kafka', result: 'down' })).toBeGreaterThan(0);
  });
});
