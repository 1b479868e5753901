import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList } from '../support/cleanup.js';
import { adminToken } from '../support/gateway.js';
import { openFundedAccount } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { DurableFollower } from './durable-follower.js';
import { FaultWorld } from './fault-world.js';
import { checkInvariants, type PhaseCounts } from './invariants.js';
import { OrderFlow } from './order-flow.js';

/**
 * The operations fault suite (`npm run test:faults`): two gateway processes on a broker and a PostgreSQL
 * server of the suite's own, steady orders from several accounts, three durable followers; then, in turn,
 * each fault. After each one every invariant is checked and the counts are printed.
 */

const PHASE_TIMEOUT_MS = 300_000;
const ORDERS_PER_SECOND = 25;
const INITIAL_BALANCE = 10_000_000n;

const cleanups = cleanupList();
let world: FaultWorld;
let flow: OrderFlow;
let followers: DurableFollower[];
let sql: ReturnType<FaultWorld['sql']>;
const table: PhaseCounts[] = [];

/** The length of a fault itself (the broker kept down 10 s, say): a duration the suite imposes, not a wait for a condition. */
const holdFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets the flow place `count` more acknowledged orders. */
const moreOrders = (count: number, timeoutMs = 60_000) => {
  const target = flow.acked.size + count;
  return waitFor(
    `${target} acknowledged orders (have ${flow.acked.size})`,
    () => (flow.acked.size >= target ? true : undefined),
    timeoutMs,
  );
};

/** Pauses the flow, checks every invariant, prints the counts, and resumes. */
async function settleAndCheck(phase: string): Promise<void> {
  await flow.pause();
  const report = await checkInvariants(phase, world, sql, flow, followers, INITIAL_BALANCE);
  table.push(report.counts);
  console.log(`fault suite, ${phase}: ${JSON.stringify(report.counts)}`);
  expect(report.problems).toEqual([]);
  flow.start();
}

beforeAll(async () => {
  world = await FaultWorld.create(cleanups);
  sql = world.sql();
  await world.startGateway('a');
  await world.startGateway('b');
  const bearer = await adminToken();
  const prefix = uniqueName('acct').replaceAll('_', '-');
  const accounts = Array.from({ length: 5 }, (_, i) => `${prefix}-${i}`);
  for (const account of accounts) await openFundedAccount(world.liveUrls()[0]!, bearer, account, INITIAL_BALANCE);
  const filters = [{}, { accountId: accounts[1]! }, { product: 'gift-card' }];
  followers = filters.map((filter, i) => {
    const follower: DurableFollower = new DurableFollower(
      `follower-${i}`,
      filter,
      () => world.liveUrls(),
      bearer,
      () => (follower.connects === 0 ? world.liveUrls()[i % 2] : undefined),
    );
    return follower;
  });
  for (const follower of followers) follower.start();
  flow = new OrderFlow(() => world.liveUrls(), bearer, accounts, uniqueName('order'), ORDERS_PER_SECOND);
  flow.start();
  await moreOrders(50);
}, PHASE_TIMEOUT_MS);

afterAll(async () => {
  if (table.length > 0) {
    const rows = table.map(
      (c) =>
        `| ${c.phase} | ${c.ordersAcked} | ${c.recordsOnTopic} | ${c.repeatsOnTopic} | ${c.retries} | ${Object.entries(c.failures)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')} | ${Object.values(c.followers)
          .map((f) => `${f.received}/${f.expected} (+${f.repeats}, ${f.connects}x)`)
          .join(' · ')} | ${c.secondsToConverge.toFixed(1)} |`,
    );
    console.log(
      [
        '| after | orders acknowledged | records on topic | repeats | client retries | failed answers | followers: received/expected (+repeats, connections) | s to converge |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
        ...rows,
      ].join('\n'),
    );
  }
  // Traffic and followers end before the gateways they talk to.
  await flow?.stop();
  await Promise.all((followers ?? []).map((f) => f.stop()));
  await cleanups.run();
}, PHASE_TIMEOUT_MS);

describe('fault suite: two gateways, steady orders, durable followers', () => {
  it('should lose nothing when the broker is stopped for 10 s and started again', { timeout: PHASE_TIMEOUT_MS }, async () => {
    await world.broker.stop();
    await holdFor(10_000);
    await world.broker.start();
    await moreOrders(50);
    await settleAndCheck('broker stopped 10 s');
  });

  it('should lose nothing when the gateway holding the relay lock is SIGKILLed', { timeout: PHASE_TIMEOUT_MS }, async () => {
    const holder = await world.relayHolder();
    await world.killGateway(holder);
    const successor = await world.relayHolder();
    expect(successor).not.toBe(holder);
    await moreOrders(50);
    await world.startGateway(`${holder.name}2`);
    await moreOrders(25);
    await settleAndCheck('relay holder SIGKILLed');
  });

  it('should lose nothing when every database session is terminated', { timeout: PHASE_TIMEOUT_MS }, async () => {
    expect(await world.terminateDatabaseSessions()).toBeGreaterThan(0);
    await moreOrders(50);
    await settleAndCheck('database sessions terminated');
  });

  it('should answer SERVICE_UNAVAILABLE while PostgreSQL restarts, and succeed after', { timeout: PHASE_TIMEOUT_MS }, async () => {
    const unavailableBefore = flow.failures.get('SERVICE_UNAVAILABLE') ?? 0;
    await world.stopPostgres();
    await waitFor('placeOrder to answer SERVICE_UNAVAILABLE', () =>
      (flow.failures.get('SERVICE_UNAVAILABLE') ?? 0) > unavailableBefore ? true : undefined,
    );
    await holdFor(3000);
    await world.startPostgres();
    await moreOrders(50);
    await settleAndCheck('PostgreSQL restarted');
  });

  it('should let a durable follower resume on the other gateway when its own is SIGKILLed', { timeout: PHASE_TIMEOUT_MS }, async () => {
    const follower = followers[0]!;
    const target = world.gatewayAt(follower.url ?? '');
    expect(target).toBeDefined();
    const connects = follower.connects;
    await world.killGateway(target!);
    await waitFor('the follower to reconnect to the other gateway', () =>
      follower.connects > connects && follower.url !== target!.process.url ? true : undefined,
    );
    await moreOrders(50);
    await world.startGateway(`${target!.name}2`);
    await moreOrders(25);
    await settleAndCheck('follower gateway SIGKILLed');
  });
});
