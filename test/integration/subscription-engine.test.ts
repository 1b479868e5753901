import { describe, expect } from 'vitest';
import { AppError } from '../../src/errors.js';
import { consumerGroupsTool, describeGroupOffsets } from '../support/kafka-tools.js';
import { testKafkaBrokers, waitFor } from '../support/resources.js';
import { callerOf, drained, it, orderOf, ordersFor, PARTITIONS, recon, sorted, subscribe } from './kafka-order-source.fixtures.js';

const brokers = () => testKafkaBrokers().join(',');

describe('the subscription engine: one shared read, a consumer group per subscriber', () => {
  it("should show a durable group's committed offsets and lag in Kafka's own tool, while connected and after it left", async ({ env }) => {
    const source = env.source({ commitIntervalMs: 100 });
    const groupId = `${env.groupPrefix}.recon.tooling`;
    const s = subscribe(source, { caller: recon, subscriberId: 'tooling', start: { kind: 'COMMITTED' }, filter: {} });
    await s.ready;
    const ids = await env.publish(ordersFor(14));
    await s.until(14);
    // Committed once the interval passed; the tool reads what Kafka holds.
    const connected = await waitFor('the tool to show the group caught up', async () => {
      const rows = await describeGroupOffsets(brokers(), groupId);
      const caughtUp = rows.length === PARTITIONS && rows.every((r) => r.lag === 0n);
      return caughtUp ? rows : undefined;
    });
    expect(connected.reduce((sum, r) => sum + (r.currentOffset ?? 0n), 0n)).toBe(14n);
    await s.stop();

    await env.publish(ordersFor(7));
    const away = await describeGroupOffsets(brokers(), groupId);
    expect(away.reduce((sum, r) => sum + (r.lag ?? 0n), 0n)).toBe(7n);
    expect(away.reduce((sum, r) => sum + (r.logEndOffset - (r.currentOffset ?? 0n)), 0n)).toBe(7n);
    expect(sorted(s.ids())).toEqual(sorted(ids));
  });

  it("should take an operator's reset made with Kafka's tool while the subscriber was away", async ({ env }) => {
    const source = env.source();
    const request = { caller: recon, subscriberId: 'reset', start: { kind: 'COMMITTED' }, filter: {} } as const;
    const first = subscribe(source, request);
    await first.ready;
    const ids = await env.publish(ordersFor(9));
    await first.until(9);
    await first.stop();

    const groupId = `${env.groupPrefix}.recon.reset`;
    await consumerGroupsTool(brokers(), ['--reset-offsets', '--group', groupId, '--topic', env.topic, '--to-earliest', '--execute']);
    const again = subscribe(source, request);
    const [received] = await drained(env, [again]);
    expect(sorted(received!)).toEqual(sorted(ids));
  });

  it('should adopt a reset made while the subscriber is connected instead of overwriting it', async ({ env }) => {
    const source = env.source({ commitIntervalMs: 100 });
    const groupId = `${env.groupPrefix}.recon.live-reset`;
    const s = subscribe(source, { caller: recon, subscriberId: 'live-reset', start: { kind: 'COMMITTED' }, filter: {} });
    await s.ready;
    const ids = await env.publish(ordersFor(6));
    await s.until(6);
    await waitFor('the first commit', async () => {
      const rows = await describeGroupOffsets(brokers(), groupId);
      return rows.every((r) => r.lag === 0n) && rows.length === PARTITIONS ? true : undefined;
    });

    await consumerGroupsTool(brokers(), ['--reset-offsets', '--group', groupId, '--topic', env.topic, '--to-earliest', '--execute']);
    // The gateway notices at its next commit (the next event moves the subscriber), goes back to the earliest
    // offsets, and delivers all seven again; it never writes its own position over the reset.
    const [later] = await env.publish([orderOf('acct-later')]);
    await s.until(14);
    expect(s.ids()[6]).toBe(later);
    expect(sorted(s.ids().slice(7))).toEqual(sorted([...ids, later!]));
    expect(env.logLines.some((line) => line.includes('changed outside the gateway'))).toBe(true);
  });

  it('should give every connection of one subscriberId every event, never committing past what the slower one has', async ({ env }) => {
    const source = env.source({ commitIntervalMs: 100 });
    const groupId = `${env.groupPrefix}.recon.twice`;
    const shared = { caller: recon, subscriberId: 'twice', start: { kind: 'COMMITTED' }, filter: {} } as const;
    const fast = subscribe(source, shared);
    await fast.ready;
    let slowReady = false;
    const slow = source.subscribe({ ...shared, onReady: () => (slowReady = true) });
    const slowFirst = slow.next();
    await waitFor('the slow connection to be ready', () => (slowReady ? true : undefined));

    const ids = await env.publish(ordersFor(30), { partition: 1 });
    await fast.until(30);
    // The slow connection has taken five and holds the sixth, unacknowledged.
    const fromSlow = [(await slowFirst).value?.eventId];
    while (fromSlow.length < 6) fromSlow.push((await slow.next()).value?.eventId);
    expect(fromSlow).toEqual(ids.slice(0, 6));
    // The group moves to what both have (five), never to the fast one's thirty, nor past the held sixth.
    const committed = async () => {
      const [offsets] = await env.admin.fetchOffsets({ groupId, topics: [env.topic] });
      return Object.fromEntries(offsets!.partitions.map((p) => [p.partition, p.offset]));
    };
    const moved = await waitFor('the group to commit the five both have', async () => {
      const now = await committed();
      return BigInt(now[1] ?? '-1') >= 5n ? now : undefined;
    });
    expect(moved).toEqual({ 0: '0', 1: '5', 2: '0' });

    while (fromSlow.length < 30) fromSlow.push((await slow.next()).value?.eventId);
    expect(fromSlow).toEqual(ids);
    await slow.return(undefined);

    // Another process with the same subscriberId: its own read, every event again.
    const elsewhere = subscribe(env.source(), { ...shared, start: { kind: 'EARLIEST' } });
    const placed = new Set(ids);
    const [fromFast, fromElsewhere] = (await drained(env, [fast, elsewhere])).map((got) => got.filter((id) => placed.has(id)));
    expect(sorted(fromFast!)).toEqual(sorted(ids));
    expect(sorted(fromElsewhere!)).toEqual(sorted(ids));
  });

  it('should end an ephemeral subscriber that fell behind the window, while a durable one catches up and others keep receiving', async ({
    env,
  }) => {
    const source = env.source({ windowRecords: 8 });
    const fast = subscribe(source, { caller: recon, subscriberId: 'fast', start: { kind: 'LATEST' }, filter: {} });
    const readyFlags = { ephemeral: false, durable: false };
    const slowEphemeral = source.subscribe({
      caller: recon,
      start: { kind: 'LATEST' },
      filter: {},
      onReady: () => (readyFlags.ephemeral = true),
    });
    const slowDurable = source.subscribe({
      caller: recon,
      subscriberId: 'slow',
      start: { kind: 'LATEST' },
      filter: {},
      onReady: () => (readyFlags.durable = true),
    });
    const [ephemeralFirst, durableFirst] = [slowEphemeral.next(), slowDurable.next()];
    await fast.ready;
    await waitFor('both slow subscribers to be ready', () => (readyFlags.ephemeral && readyFlags.durable ? true : undefined));

    const [firstId] = await env.publish([orderOf('acct-slow')], { partition: 0 });
    expect((await ephemeralFirst).value?.eventId).toBe(firstId);
    expect((await durableFirst).value?.eventId).toBe(firstId);
    // Both stop reading; far more than the window holds goes by.
    const ids = await env.publish(ordersFor(60), { partition: 0 });
    await fast.until(61);
    expect(fast.ids()).toEqual([firstId, ...ids]);

    const refused = await slowEphemeral.next().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).code).toBe('SUBSCRIBER_TOO_SLOW');

    const fromDurable: (string | undefined)[] = [];
    while (fromDurable.length < ids.length) fromDurable.push((await slowDurable.next()).value?.eventId);
    expect(fromDurable).toEqual(ids);
    await slowDurable.return(undefined);
  });

  it("should keep an account's ephemeral subscriber in step while other accounts' records turn the window over many times", async ({
    env,
  }) => {
    const source = env.source({ windowRecords: 32 });
    const mine = subscribe(source, { caller: recon, start: { kind: 'LATEST' }, filter: { accountId: 'acct-quiet' } });
    await mine.ready;
    const [first] = await env.publish([orderOf('acct-quiet')], { partition: 0 });
    await mine.until(1);
    // 300 records of other accounts in small sends: the subscription is not woken for each, yet must never fall
    // out of the window (that would end it with SUBSCRIBER_TOO_SLOW).
    for (let send = 0; send < 60; send++) await env.publish(ordersFor(5), { partition: 0 });
    const [last] = await env.publish([orderOf('acct-quiet')], { partition: 0 });
    await mine.until(2);
    expect(mine.ids()).toEqual([first, last]);
  });

  it("should keep an account's ephemeral subscriber when one fetch brings more records than the window holds", async ({ env }) => {
    const source = env.source({ windowRecords: 32 });
    const mine = subscribe(source, { caller: recon, start: { kind: 'LATEST' }, filter: { accountId: 'acct-quiet' } });
    await mine.ready;
    const [first] = await env.publish([orderOf('acct-quiet')], { partition: 0 });
    await mine.until(1);
    // One send of 200 records of other accounts and then one of its own: the shared read gets them in one fetch.
    const [last] = (await env.publish([...ordersFor(200), orderOf('acct-quiet')], { partition: 0 })).slice(-1);
    await mine.until(2);
    expect(mine.ids()).toEqual([first, last]);
  });

  it('should serve 400 subscriptions from one read, each with its own filter and group', { timeout: 180_000 }, async ({ env }) => {
    const source = env.source();
    const accounts = Array.from({ length: 8 }, (_, i) => `acct-many-${i}`);
    const subscribers = Array.from({ length: 400 }, (_, i) =>
      subscribe(source, {
        caller: callerOf('many'),
        ...(i % 10 === 0 && { subscriberId: `many-${i}` }),
        start: { kind: 'LATEST' },
        filter: { accountId: accounts[i % accounts.length] },
      }),
    );
    await Promise.all(subscribers.map((s) => s.ready));
    expect(source.activeCount).toBe(400);
    expect((await env.groups()).length).toBe(400);

    const orders = Array.from({ length: 40 }, (_, i) => orderOf(accounts[i % accounts.length]!));
    const ids = await env.publish(orders);
    const expected = new Map(accounts.map((a) => [a, ids.filter((_, i) => orders[i]!.accountId === a)]));
    await waitFor(
      'every subscriber to have its five orders',
      () => (subscribers.every((s) => s.events.length >= 5) ? true : undefined),
      60_000,
    );
    subscribers.forEach((s, i) => {
      expect(sorted(s.ids())).toEqual(sorted(expected.get(accounts[i % accounts.length]!)!));
    });
    await Promise.all(subscribers.map((s) => s.stop()));
    expect(source.activeCount).toBe(0);
    const left = await env.groups();
    expect(left).toHaveLength(40);
    expect(left.every((g) => g.startsWith(`${env.groupPrefix}.many.many-`))).toBe(true);
  });
  it('should start each of many subscriptions joining at once at its own position: LATEST, since and COMMITTED', {
    timeout: 120_000,
  }, async ({ env }) => {
    const source = env.source();
    // Durable groups that hold offsets before the first batch: COMMITTED must resume there.
    const first = Array.from({ length: 20 }, (_, i) =>
      subscribe(source, { caller: recon, subscriberId: `joined-${i}`, start: { kind: 'COMMITTED' }, filter: {} }),
    );
    await Promise.all(first.map((s) => s.ready));
    await Promise.all(first.map((s) => s.stop()));
    const since = new Date(Date.now() - 1);
    const before = await env.publish(ordersFor(9));

    const committed = Array.from({ length: 20 }, (_, i) =>
      subscribe(source, { caller: recon, subscriberId: `joined-${i}`, start: { kind: 'COMMITTED' }, filter: {} }),
    );
    const latest = Array.from({ length: 40 }, () => subscribe(source, { caller: recon, start: { kind: 'LATEST' }, filter: {} }));
    const fromSince = Array.from({ length: 40 }, () =>
      subscribe(source, { caller: recon, start: { kind: 'SINCE', at: since }, filter: {} }),
    );
    await Promise.all([...committed, ...latest, ...fromSince].map((s) => s.ready));
    const after = await env.publish(ordersFor(6));

    const received = await drained(env, [...committed, ...latest, ...fromSince]);
    received.forEach((ids, i) => {
      const expected = i < committed.length || i >= committed.length + latest.length ? [...before, ...after] : after;
      expect(sorted(ids)).toEqual(sorted(expected));
    });
    await Promise.all([...committed, ...latest, ...fromSince].map((s) => s.stop()));
  });
});
