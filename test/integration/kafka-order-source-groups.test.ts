import { describe, expect } from 'vitest';
import { createKafkaWire } from '../../src/adapters/kafka/kafka-wire.js';
import { toOrderSettledEvent } from '../../src/domain/order-event.js';
import { encodeCursor } from '../../src/domain/subscription-cursor.js';
import { AppError } from '../../src/errors.js';
import type { LogClient } from '../../src/streaming/log-client.js';
import { testKafka, waitFor } from '../support/resources.js';
import { CURSOR_SECRET, drained, it, orderOf, ordersFor, recon, sorted, subscribe } from './kafka-order-source.fixtures.js';

describe('the Kafka settled-order source: groups, backpressure and clean-up', () => {
  it('should wait through a topic that does not exist yet, then deliver once it is created', async ({ env }) => {
    const late = `${env.topic}-late`;
    const source = env.source({ topic: late });
    const s = subscribe(source, { caller: recon, start: { kind: 'EARLIEST' }, filter: {} });
    try {
      await waitFor('the subscription to find no topic', () =>
        env.logLines.some((l) => l.includes('does not exist yet')) ? true : undefined,
      );
      await env.admin.createTopics({ topics: [{ topic: late, numPartitions: 2 }] });
      await s.ready;
      const producer = testKafka().producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const event = toOrderSettledEvent('late-event', orderOf('acct-late'));
      await producer.send({ topic: late, messages: [{ key: 'acct-late', value: JSON.stringify(event) }] });
      await producer.disconnect();
      const [received] = await s.until(1);
      expect(received?.eventId).toBe('late-event');
    } finally {
      await s.stop();
      await env.admin.deleteTopics({ topics: [late] }).catch(() => {});
    }
  });

  it('should delete the ephemeral group once the subscription returns', async ({ env }) => {
    const source = env.source();
    const s = subscribe(source, { caller: recon, start: { kind: 'LATEST' }, filter: {} });
    await s.ready;
    const groups = await env.groups();
    expect(groups).toHaveLength(1);
    expect(groups[0]).toMatch(new RegExp(`^${env.groupPrefix}\\.ephemeral\\.[0-9a-f-]{36}$`));
    await s.stop();
    expect(await env.groups()).toEqual([]);
    expect(source.activeCount).toBe(0);
  });

  it('should refuse a tampered, foreign or malformed cursor and a bad subscriberId with BAD_USER_INPUT', ({ env }) => {
    const source = env.source();
    const positions = new Map([[0, 1n]]);
    const cursors = [
      `${encodeCursor(CURSOR_SECRET, { sub: 'recon', topic: env.topic }, positions).slice(0, -3)}xyz`,
      encodeCursor(CURSOR_SECRET, { sub: 'mallory', topic: env.topic }, positions),
      encodeCursor(CURSOR_SECRET, { sub: 'recon', topic: 'another-topic' }, positions),
      encodeCursor('another-secret', { sub: 'recon', topic: env.topic }, positions),
      'garbage',
    ];
    const refused = (run: () => unknown) => {
      expect(run).toThrow(AppError);
      expect(run).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT' }));
    };
    for (const cursor of cursors) {
      refused(() => source.subscribe({ caller: recon, start: { kind: 'AFTER_CURSOR', cursor }, filter: {} }));
    }
    for (const subscriberId of ['', 'has space', 'x'.repeat(65), 'slash/ed']) {
      refused(() => source.subscribe({ caller: recon, subscriberId, start: { kind: 'COMMITTED' }, filter: {} }));
    }
    refused(() => source.subscribe({ caller: recon, start: { kind: 'SINCE', at: new Date(Number.NaN) }, filter: {} }));
    expect(source.activeCount).toBe(0);
  });

  it('should keep a slow subscriber from holding up others, then give it everything in order', async ({ env }) => {
    const source = env.source({ commitIntervalMs: 100 });
    const fast = subscribe(source, { caller: recon, start: { kind: 'LATEST' }, filter: {} });
    let slowReady = false;
    const slow = source.subscribe({
      caller: recon,
      subscriberId: 'slow',
      start: { kind: 'LATEST' },
      filter: {},
      onReady: () => {
        slowReady = true;
      },
    });
    const firstOfSlow = slow.next();
    await fast.ready;
    await waitFor('the slow subscription to be ready', () => (slowReady ? true : undefined));
    const ids = await env.publish(ordersFor(40), { partition: 2 });
    await fast.until(40);
    expect(fast.ids()).toEqual(ids);

    // The slow one has taken five and holds the sixth: the group commits the five, never the sixth it has not acknowledged.
    const received = [(await firstOfSlow).value?.eventId];
    while (received.length < 6) received.push((await slow.next()).value?.eventId);
    const committed = await waitFor('the group to commit the five taken', async () => {
      const [offsets] = await env.admin.fetchOffsets({ groupId: `${env.groupPrefix}.recon.slow`, topics: [env.topic] });
      const byPartition = Object.fromEntries(offsets!.partitions.map((p) => [p.partition, p.offset]));
      return BigInt(byPartition[2] ?? '-1') >= 5n ? byPartition : undefined;
    });
    expect(committed).toEqual({ 0: '0', 1: '0', 2: '5' });
    while (received.length < ids.length) received.push((await slow.next()).value?.eventId);
    expect(received).toEqual(ids);
    await slow.return(undefined);
    expect(source.activeCount).toBe(1);
  });

  it("should have a new durable group's start in Kafka once it is ready, even as a fresh source's first request", async ({ env }) => {
    // A gateway that crashed before its first periodic commit must leave the group where its subscriber started, or
    // the reconnect (COMMITTED) would begin at the end and miss everything in between.
    await env.publish(ordersFor(5), { partition: 1 });
    const source = env.source();
    const s = subscribe(source, { caller: recon, subscriberId: 'fresh', start: { kind: 'COMMITTED' }, filter: {} });
    await s.ready;
    const [committed] = await env.admin.fetchOffsets({ groupId: `${env.groupPrefix}.recon.fresh`, topics: [env.topic] });
    const ends = await env.admin.fetchTopicOffsets(env.topic);
    const byPartition = (rows: readonly { partition: number; offset: string }[]) =>
      Object.fromEntries(rows.map((p) => [p.partition, p.offset]).sort(([a], [b]) => Number(a) - Number(b)));
    expect(byPartition(committed!.partitions)).toEqual(byPartition(ends));
    expect(byPartition(ends)[1]).toBe('5');
    await s.stop();
  });

  it("should try a durable group's first commit again until it lands, before the subscription is ready", async ({ env }) => {
    const wire = createKafkaWire(testKafka());
    let refused = 0;
    // The real broker, with the first two commits failing as a dropped connection would fail them.
    const log: LogClient = {
      ...wire,
      commit: async (...args) => {
        if (refused < 2) {
          refused++;
          throw new Error('injected: the commit connection was lost');
        }
        return wire.commit(...args);
      },
    };
    const source = env.source({ log });
    const s = subscribe(source, { caller: recon, subscriberId: 'retried', start: { kind: 'LATEST' }, filter: {} });
    await s.ready;
    expect(refused).toBe(2);
    const [committed] = await env.admin.fetchOffsets({ groupId: `${env.groupPrefix}.recon.retried`, topics: [env.topic] });
    expect(committed!.partitions.map((p) => p.offset)).toEqual(['0', '0', '0']);
    await s.stop();
  });

  it('should end every open subscription on close()', async ({ env }) => {
    const source = env.source();
    const subscribers = [
      subscribe(source, { caller: recon, subscriberId: 'closing', start: { kind: 'COMMITTED' }, filter: {} }),
      subscribe(source, { caller: recon, start: { kind: 'LATEST' }, filter: {} }),
    ];
    await Promise.all(subscribers.map((s) => s.ready));
    await source.close();
    await Promise.all(subscribers.map((s) => s.ended));
    expect(source.activeCount).toBe(0);
    expect(await env.groups()).toEqual([`${env.groupPrefix}.recon.closing`]);
  });

  it('should finish the final commits of subscriptions still ending when close() is called', async ({ env }) => {
    const source = env.source({ commitIntervalMs: 60_000 });
    const subscribers = Array.from({ length: 30 }, (_, i) =>
      subscribe(source, { caller: recon, subscriberId: `ending-${i}`, start: { kind: 'COMMITTED' }, filter: {} }),
    );
    await Promise.all(subscribers.map((s) => s.ready));
    await env.publish(ordersFor(9));
    await Promise.all(subscribers.map((s) => s.until(9)));
    // Sockets closing at shutdown: each subscription is returning when the source closes.
    const ending = subscribers.map((s) => s.stop());
    await source.close();
    await Promise.all(ending);
    for (let i = 0; i < subscribers.length; i++) {
      const [offsets] = await env.admin.fetchOffsets({ groupId: `${env.groupPrefix}.recon.ending-${i}`, topics: [env.topic] });
      expect(offsets!.partitions.reduce((sum, p) => sum + Number(p.offset), 0)).toBe(9);
    }
  });

  it('should leave no subscription, group or timer behind after 50 subscribe/return cycles', { timeout: 180_000 }, async ({ env }) => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const baseline = timers();
    const source = env.source();
    for (let cycle = 0; cycle < 50; cycle++) {
      const s = subscribe(source, { caller: recon, start: { kind: 'LATEST' }, filter: {} });
      // Half end while still joining, half once ready.
      if (cycle % 2 === 0) await s.ready;
      await s.stop();
    }
    expect(source.activeCount).toBe(0);
    expect(await env.groups()).toEqual([]);
    await source.close();
    await waitFor('timers back to the baseline', () => (timers() <= baseline ? true : undefined), 10_000);
  });

  it('should let a connection join while another holds an unacknowledged event, losing nothing', async ({ env }) => {
    const source = env.source();
    const shared = { caller: recon, subscriberId: 'held', start: { kind: 'COMMITTED' }, filter: {} } as const;
    let heldReady = false;
    const holder = source.subscribe({
      ...shared,
      onReady: () => {
        heldReady = true;
      },
    });
    const firstOfHolder = holder.next();
    await waitFor('the holder to be ready', () => (heldReady ? true : undefined));
    const ids = await env.publish(ordersFor(24));
    const held = (await firstOfHolder).value;

    // Joining needs the holder to rejoin, so to give up the batch it waits on; it notices by heartbeating.
    const joiner = subscribe(source, shared);
    await joiner.ready;
    const fromHolder = [held?.eventId];
    const reading = (async () => {
      for (let next = await holder.next(); !next.done; next = await holder.next()) fromHolder.push(next.value.eventId);
    })();
    const holderAsSubscriber = { ids: () => fromHolder.filter((id): id is string => id !== undefined) };
    const [fromJoiner, fromHolderBeforeSentinels] = await drained(env, [joiner, holderAsSubscriber], { shared: true });
    // The held event may come twice (it was never acknowledged); none may be missing.
    expect(sorted([...new Set([...fromJoiner!, ...fromHolderBeforeSentinels!])])).toEqual(sorted(ids));
    await holder.return(undefined);
    await reading;
  });
});
