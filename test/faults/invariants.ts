import type { Sql } from 'postgres';
import { parseOrderSettledEvent } from '../../src/domain/order-event.js';
import { readTopic, waitFor } from '../support/resources.js';
import type { DurableFollower } from './durable-follower.js';
import type { FaultWorld } from './fault-world.js';
import type { OrderFlow } from './order-flow.js';

export interface PhaseCounts {
  phase: string;
  ordersAcked: number;
  ordersInDatabase: number;
  recordsOnTopic: number;
  repeatsOnTopic: number;
  retries: number;
  failures: Record<string, number>;
  followers: Record<string, { expected: number; received: number; repeats: number; connects: number }>;
  secondsToConverge: number;
}

/** What the suite found wrong after a phase; empty when every invariant holds. */
export interface PhaseReport {
  counts: PhaseCounts;
  problems: string[];
}

/**
 * After a fault, with the order flow paused: waits until the outbox is drained and every follower has every
 * order matching its filter (or the deadline passes), then checks the invariants against the database and a
 * full read of the topic.
 */
export async function checkInvariants(
  phase: string,
  world: FaultWorld,
  sql: Sql,
  flow: OrderFlow,
  followers: readonly DurableFollower[],
  initialBalance: bigint,
): Promise<PhaseReport> {
  const started = Date.now();
  const problems: string[] = [];
  const acked = [...flow.acked.values()];
  const converged = await waitFor(
    'the outbox to drain and every follower to catch up',
    async () => {
      const [row] = await sql<{ n: string }[]>`select count(*)::text as n from outbox where published_at is null`;
      if (Number(row?.n) !== 0) return undefined;
      const behind = followers.some((f) => acked.some((o) => f.matches(o) && !f.seen.has(o.orderId)));
      return behind ? undefined : true;
    },
    120_000,
  ).catch((error: unknown) => {
    problems.push(String(error));
    return false;
  });
  const secondsToConverge = (Date.now() - started) / 1000;

  const dbOrders = await sql<{ id: string; account_id: string; amount: string; product: string; idempotency_key: string }[]>`
    select id::text, account_id, amount::text, product, idempotency_key from orders`;
  const dbById = new Map(dbOrders.map((o) => [o.id, o]));
  for (const order of acked) {
    const row = dbById.get(order.orderId);
    if (!row) problems.push(`acknowledged order ${order.orderId} (${order.key}) is not in the database`);
    else if (BigInt(row.amount) !== order.amount || row.account_id !== order.accountId)
      problems.push(`order ${order.orderId} differs in the database`);
  }
  // Every order was retried until answered, so the database holds exactly the acknowledged ones.
  for (const row of dbOrders)
    if (!flow.acked.has(row.id)) problems.push(`order ${row.id} (${row.idempotency_key}) settled but never acknowledged`);
  const keys = new Set(dbOrders.map((o) => o.idempotency_key));
  if (keys.size !== dbOrders.length) problems.push(`${dbOrders.length - keys.size} idempotency keys settled twice`);

  const records = await readTopic(world.topic, dbOrders.length, {
    brokers: [world.broker.brokers],
    until: (read) => new Set(read.map((r) => parseOrderSettledEvent(r.value)?.order.id)).size >= dbOrders.length,
    timeoutMs: 60_000,
    settleMs: 500,
  }).catch((error: unknown) => {
    problems.push(`reading the topic: ${String(error)}`);
    return [];
  });
  const eventIdOf = new Map<string, string>();
  let repeatsOnTopic = 0;
  for (const record of records) {
    const event = parseOrderSettledEvent(record.value);
    if (!event) {
      problems.push(`record ${record.partition}/${record.offset} is not a settled-order event`);
      continue;
    }
    const id = event.order.id;
    if (!dbById.has(id)) problems.push(`order ${id} is on the topic but was never settled`);
    const before = eventIdOf.get(id);
    if (before === undefined) eventIdOf.set(id, event.eventId);
    else if (before === event.eventId) repeatsOnTopic++;
    else problems.push(`order ${id} published under two eventIds`);
  }
  for (const row of dbOrders) if (!eventIdOf.has(row.id)) problems.push(`settled order ${row.id} is not on the topic`);

  const followerCounts: PhaseCounts['followers'] = {};
  for (const follower of followers) {
    const expected = acked.filter((o) => follower.matches(o));
    const missing = expected.filter((o) => !follower.seen.has(o.orderId));
    if (missing.length > 0) problems.push(`${follower.subscriberId} misses ${missing.length} of ${expected.length} orders`);
    for (const [orderId, eventId] of follower.seen) {
      if (eventIdOf.has(orderId) && eventIdOf.get(orderId) !== eventId)
        problems.push(`${follower.subscriberId} got ${orderId} under another eventId`);
      const order = flow.acked.get(orderId) ?? dbById.get(orderId);
      if (!order) problems.push(`${follower.subscriberId} got ${orderId}, which was never settled`);
    }
    problems.push(...follower.conflicts.map((c) => `${follower.subscriberId}: one order under two eventIds: ${c}`));
    followerCounts[follower.subscriberId] = {
      expected: expected.length,
      received: follower.seen.size,
      repeats: follower.repeats,
      connects: follower.connects,
    };
  }

  const balances = await sql<{ id: string; balance: string; deposited: string; ordered: string }[]>`
    select a.id, a.balance::text,
      (select coalesce(sum(amount), 0) from deposits d where d.account_id = a.id)::text as deposited,
      (select coalesce(sum(amount), 0) from orders o where o.account_id = a.id)::text as ordered
    from accounts a`;
  for (const account of balances) {
    if (BigInt(account.balance) !== BigInt(account.deposited) - BigInt(account.ordered)) {
      problems.push(`account ${account.id}: balance ${account.balance} != deposits ${account.deposited} - orders ${account.ordered}`);
    }
    const sent = acked.filter((o) => o.accountId === account.id).reduce((sum, o) => sum + o.amount, 0n);
    if (BigInt(account.balance) !== initialBalance - sent)
      problems.push(`account ${account.id}: balance ${account.balance} != ${initialBalance} - acknowledged ${sent}`);
  }
  problems.push(...world.selfExited());
  problems.push(...flow.unexpectedFailures().map((code) => `placeOrder answered ${code} ${flow.failures.get(code)} times`));

  return {
    counts: {
      phase,
      ordersAcked: acked.length,
      ordersInDatabase: dbOrders.length,
      recordsOnTopic: records.length,
      repeatsOnTopic,
      retries: flow.retries,
      failures: Object.fromEntries(flow.failures),
      followers: followerCounts,
      secondsToConverge: converged ? secondsToConverge : Number.NaN,
    },
    problems,
  };
}
