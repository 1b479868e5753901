import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadBalancer, startLoadBalancer } from '../../scripts/load-balancer.js';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, startGatewayProcess } from '../support/gateway.js';
import { openFundedAccount, placeOrdersOn } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { subscribe } from '../support/subscriber.js';
import { orderSettledScenarios } from '../support/subscription-scenarios.js';
import { testGatewayEnv } from '../support/test-env.js';

// Two gateway processes on one database and topic, behind the local round-robin balancer: clients only know its address.
const cleanups = cleanupList();
let balancer: LoadBalancer;
let backends: string[];
let admin: string;

beforeAll(async () => {
  const env = await testGatewayEnv(cleanups, 'balanced');
  // One after the other: the first creates the topic, so the second does not race it.
  const first = await startGatewayProcess(env);
  cleanups.push(() => first.kill());
  const second = await startGatewayProcess(env);
  cleanups.push(() => second.kill());
  backends = [first.url, second.url];
  balancer = await startLoadBalancer({ backends, healthIntervalMs: 200 });
  cleanups.push(() => balancer.close());
  await waitFor('both gateways to be ready behind the balancer', () =>
    backends.every((b) => balancer.stats.get(b)?.ready) ? true : undefined,
  );
  admin = await adminToken();
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(() => cleanups.run());

const upgradesOf = () => backends.map((b) => balancer.stats.get(b)?.upgrades ?? 0);
const requestsOf = () => backends.map((b) => balancer.stats.get(b)?.requests ?? 0);

/** Sends requests through the balancer until the next one it picks is `backend` (it goes round robin over both). */
async function steerNextTo(backend: string): Promise<void> {
  const target = backends.indexOf(backend);
  for (let i = 0; i < backends.length; i++) {
    const before = requestsOf();
    await (await fetch(`${balancer.url}/healthz`)).arrayBuffer();
    const servedBy = requestsOf().findIndex((count, j) => count > (before[j] ?? 0));
    if (servedBy === (target + backends.length - 1) % backends.length) return;
  }
  throw new Error(`could not steer the balancer to ${backend}`);
}

describe('two gateway processes behind the load balancer', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  orderSettledScenarios(() => ({ url: balancer.url, admin, cleanups }));

  it('should resume a durable subscriber that reconnects to the other gateway with COMMITTED: nothing missed, repeats only of an eventId', async () => {
    const url = balancer.url;
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000_000n);
    const subscriberId = uniqueName('roaming');
    const filter = { accountId: account };

    const upgradesBefore = upgradesOf();
    const first = subscribe(url, admin, { filter, subscriberId, start: 'EARLIEST' });
    cleanups.push(() => first.close());
    const placed = await placeOrdersOn(url, admin, account, 10, 'before');
    await first.received(10);
    const firstBackend = backends[upgradesOf().findIndex((count, i) => count > (upgradesBefore[i] ?? 0))] as string;
    expect(firstBackend).toBeDefined();
    placed.push(...(await placeOrdersOn(url, admin, account, 5, 'more')));
    await first.received(15);
    await first.close();
    placed.push(...(await placeOrdersOn(url, admin, account, 10, 'away')));

    const otherBackend = backends.find((b) => b !== firstBackend) as string;
    await steerNextTo(otherBackend);
    const upgradesAtReconnect = upgradesOf();
    const second = subscribe(url, admin, { filter, subscriberId, start: 'COMMITTED' });
    cleanups.push(() => second.close());
    await waitFor('the second connection to be upgraded', () =>
      upgradesOf().some((c, i) => c > (upgradesAtReconnect[i] ?? 0)) ? true : undefined,
    );
    expect(upgradesOf()[backends.indexOf(otherBackend)]).toBe((upgradesAtReconnect[backends.indexOf(otherBackend)] ?? 0) + 1);
    placed.push(...(await placeOrdersOn(url, admin, account, 5, 'after')));

    const seen = () => new Set([...first.events, ...second.events].map((e) => e.order.id));
    await waitFor(`all ${placed.length} orders across both connections`, () =>
      placed.every((id) => seen().has(id)) ? true : undefined,
    ).catch(async (error: Error) => {
      // Say which orders are missing and whether each gateway still serves them from the topic.
      const missing = placed.flatMap((id, i) => (seen().has(id) ? [] : [i]));
      const replays = backends.map((b) => subscribe(b, admin, { filter, start: 'EARLIEST' }));
      await waitFor('the replays', () => (replays.every((r) => r.events.length >= placed.length) ? true : undefined), 10_000).catch(
        () => {},
      );
      await Promise.all(replays.map((r) => r.close()));
      throw new Error(
        `${error.message}: missing the orders at ${missing.join(', ')} (first had ${first.events.length}, second ${second.events.length} from ${second.events[0]?.order.id}); an EARLIEST replay on each gateway has ${replays.map((r) => r.events.length).join(' and ')}`,
      );
    });
    expect(second.errors).toEqual([]);
    // One eventId per order, whichever gateway delivered it: a repeat is the same record again.
    const eventIdOf = new Map<string, string>();
    for (const event of [...first.events, ...second.events]) {
      expect(eventIdOf.get(event.order.id) ?? event.eventId).toBe(event.eventId);
      eventIdOf.set(event.order.id, event.eventId);
    }
    // The first received a prefix of the account's orders in order; the second resumed at or before where it stopped.
    const firstIds = first.events.map((e) => e.order.id);
    expect(firstIds).toEqual(placed.slice(0, firstIds.length));
    const secondIds = second.events.map((e) => e.order.id);
    const resumedAt = placed.indexOf(secondIds[0] as string);
    expect(resumedAt).toBeGreaterThanOrEqual(0);
    expect(resumedAt).toBeLessThanOrEqual(firstIds.length);
    expect(secondIds).toEqual(placed.slice(resumedAt));
  });

  it('should have sent requests and websockets to both gateways', () => {
    expect(requestsOf().every((count) => count > 0)).toBe(true);
    expect(upgradesOf().every((count) => count > 0)).toBe(true);
  });
});
