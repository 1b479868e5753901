import { describe, expect } from 'vitest';
import { waitFor } from '../support/resources.js';
import { drained, it, orderOf, ordersFor, recon, sorted, subscribe } from './kafka-order-source.fixtures.js';

describe('the Kafka settled-order source: delivery and start positions', () => {
  it('should deliver every event exactly once to two durable subscribers and an ephemeral one', async ({ env }) => {
    const source = env.source();
    const before = await env.publish(ordersFor(5));
    const subscribers = [
      subscribe(source, { caller: recon, subscriberId: 'one', start: { kind: 'COMMITTED' }, filter: {} }),
      subscribe(source, { caller: recon, subscriberId: 'two', start: { kind: 'COMMITTED' }, filter: {} }),
      subscribe(source, { caller: recon, start: { kind: 'LATEST' }, filter: {} }),
    ];
    await Promise.all(subscribers.map((s) => s.ready));
    expect(source.activeCount).toBe(3);

    const publishedAt = Date.now();
    const ids = await env.publish(ordersFor(20));
    for (const s of subscribers) await s.until(20);

    for (const received of await drained(env, subscribers)) {
      expect(sorted(received)).toEqual(sorted(ids));
      expect(received.some((id) => before.includes(id))).toBe(false);
    }
    const [first] = subscribers;
    const event = first!.events[0]!;
    expect(event.offset).toMatch(/^\d+$/);
    // The record's own timestamp, set when it was produced: between the publish and now (1 s of clock slack).
    expect(event.publishedAt.getTime()).toBeGreaterThanOrEqual(publishedAt - 1_000);
    expect(event.publishedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
    expect(event.order.amount).toBe(1999n);
  });

  it('should resume a durable subscriber with COMMITTED at exactly the events it missed', async ({ env }) => {
    const source = env.source();
    const request = { caller: recon, subscriberId: 'resume', start: { kind: 'COMMITTED' }, filter: {} } as const;
    const first = subscribe(source, request);
    await first.ready;
    const seen = await env.publish(ordersFor(6));
    await first.until(6);
    await first.stop();

    const missed = await env.publish(ordersFor(7));
    const second = subscribe(source, request);
    await second.ready;
    const [received] = await drained(env, [second]);
    expect(sorted(received!)).toEqual(sorted(missed));
    expect(sorted(first.ids())).toEqual(sorted(seen));
  });

  it('should replay every retained event with EARLIEST, even over a durable group with offsets', async ({ env }) => {
    const source = env.source();
    const durable = { caller: recon, subscriberId: 'replay', filter: {} } as const;
    const first = subscribe(source, { ...durable, start: { kind: 'COMMITTED' } });
    await first.ready;
    const ids = await env.publish(ordersFor(8));
    await first.until(8);
    await first.stop();

    const again = subscribe(source, { ...durable, start: { kind: 'EARLIEST' } });
    const fresh = subscribe(source, { caller: recon, start: { kind: 'EARLIEST' }, filter: {} });
    const [replayed, all] = await drained(env, [again, fresh]);
    expect(sorted(replayed!)).toEqual(sorted(ids));
    expect(sorted(all!)).toEqual(sorted(ids));
  });

  it('should start SINCE at the first event published at or after the instant', async ({ env }) => {
    const now = Date.now();
    await env.publish(ordersFor(4), { timestamp: now - 60_000 });
    const recent = await env.publish(ordersFor(5), { timestamp: now - 1_000 });
    const since = subscribe(env.source(), { caller: recon, start: { kind: 'SINCE', at: new Date(now - 30_000) }, filter: {} });
    const [received] = await drained(env, [since]);
    expect(sorted(received!)).toEqual(sorted(recent));
    expect(since.events[0]!.publishedAt.getTime()).toBe(now - 1_000);
  });

  it('should resume AFTER_CURSOR with nothing skipped or repeated', async ({ env }) => {
    const source = env.source();
    const ids = await env.publish(ordersFor(12));
    const first = subscribe(source, { caller: recon, start: { kind: 'EARLIEST' }, filter: {} });
    const events = await first.until(12);
    await first.stop();

    const cut = 4;
    const resumed = subscribe(source, { caller: recon, start: { kind: 'AFTER_CURSOR', cursor: events[cut - 1]!.cursor }, filter: {} });
    const [received] = await drained(env, [resumed]);
    expect(sorted(received!)).toEqual(sorted(events.slice(cut).map((e) => e.eventId)));
    expect(sorted([...events.slice(0, cut).map((e) => e.eventId), ...received!])).toEqual(sorted(ids));
  });

  it('should commit the offsets of filtered-out events, so a reconnecting subscriber never sees them', async ({ env }) => {
    const source = env.source({ commitIntervalMs: 100 });
    const groupId = `${env.groupPrefix}.recon.filtered`;
    const durable = { caller: recon, subscriberId: 'filtered', start: { kind: 'COMMITTED' } } as const;
    const mine = subscribe(source, { ...durable, filter: { accountId: 'acct-mine' } });
    await mine.ready;
    // Its own event, then only others': the group must move past those it never delivered.
    const [x1] = await env.publish([orderOf('acct-mine'), orderOf('acct-other'), orderOf('acct-other')], { partition: 0 });
    await mine.until(1);
    const offsetOf0 = async () => {
      const [offsets] = await env.admin.fetchOffsets({ groupId, topics: [env.topic] });
      return offsets!.partitions.find((p) => p.partition === 0)?.offset;
    };
    await waitFor('the group to pass the filtered-out events', async () => ((await offsetOf0()) === '3' ? true : undefined));
    await mine.stop();
    expect(mine.ids()).toEqual([x1]);
    expect(await offsetOf0()).toBe('3');

    const everything = subscribe(source, { ...durable, filter: {} });
    const [received] = await drained(env, [everything]);
    expect(received).toEqual([]);
  });

  it('should skip and report a record that does not fit orderSettled, logging once per reason, and keep delivering', async ({ env }) => {
    const s = subscribe(env.source(), { caller: recon, start: { kind: 'LATEST' }, filter: {} });
    await s.ready;
    await env.send([
      { key: 'acct-1', value: 'not json', partition: 1 },
      { key: 'acct-1', value: null, partition: 1 },
      { key: 'acct-1', value: JSON.stringify({ specversion: '1.0', type: 'order.settled', id: 'x', data: {} }), partition: 1 },
    ]);
    const ids = await env.publish([orderOf('acct-1'), orderOf('acct-2')], { partition: 1 });
    const [received] = await drained(env, [s]);
    expect(received).toEqual(ids);
    expect(env.rejections.map((r) => [r.field, r.reason, r.partition, String(r.offset)])).toEqual([
      ['orderSettled', 'not_json', 1, '0'],
      ['orderSettled', 'not_json', 1, '1'],
      ['orderSettled', 'payload_shape', 1, '2'],
    ]);
    // Within the minute, one line per reason: the second not_json record is only counted.
    const warnings = env.logLines.map((line) => JSON.parse(line)).filter((l) => /do not fit its declaration/.test(l.msg));
    expect(warnings.map((w) => [w.field, w.reason, w.partition, w.offset, w.path])).toEqual([
      ['orderSettled', 'not_json', 1, '0', undefined],
      ['orderSettled', 'payload_shape', 1, '2', 'data.id'],
    ]);
  });
});
