import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { toOrderSettledEvent } from '../../src/domain/order-event.js';
import { waitFor } from '../support/resources.js';
import { callerOf, it, orderOf, type Subscriber, subscribe } from './kafka-order-source.fixtures.js';

const RECORDS = 30_000;
/** Records per send: small batches, so catch-up reads starting at different offsets do not fall onto one grid. */
const PER_SEND = 60;
const HOG_SUBSCRIPTIONS = 60;
const isBees = (i: number) => i % 40 === 7;
const isMarker = (i: number) => i % 100 === 50;

describe('catch-up reads shared between callers', () => {
  it('should catch a durable subscriber up in order while another caller replays the whole topic on many subscriptions', {
    timeout: 300_000,
  }, async ({ env }) => {
    const source = env.source();
    const bee = callerOf('bee');
    const hog = callerOf('hog');
    const durable = { caller: bee, subscriberId: 'behind', start: { kind: 'COMMITTED' }, filter: { accountId: 'acct-bee' } } as const;
    // The durable group holds offsets from before the preload: it comes back behind all of it.
    const first = subscribe(source, durable);
    await first.ready;
    await first.stop();

    // Each record stamped one millisecond after the one before, so `since` can pick any of them.
    const base = Date.now() - 3_600_000;
    const beesIds: string[] = [];
    for (let at = 0; at < RECORDS; at += PER_SEND) {
      const messages = Array.from({ length: PER_SEND }, (_, k) => {
        const i = at + k;
        const order = isBees(i) ? orderOf('acct-bee') : orderOf(`acct-${i % 11}`, isMarker(i) ? { product: 'marker' } : {});
        const id = randomUUID();
        if (isBees(i)) beesIds.push(id);
        return { key: order.accountId, value: JSON.stringify(toOrderSettledEvent(id, order)), timestamp: String(base + i) };
      });
      await env.send(messages);
    }

    // The hog: subscriptions each starting somewhere in the first fifth of the topic, each to read on to its end.
    const starts = Array.from({ length: HOG_SUBSCRIPTIONS }, (_, j) => Math.floor((j * RECORDS) / 5 / HOG_SUBSCRIPTIONS) + (j % 7));
    const hogs: Subscriber[] = starts.map((i) =>
      subscribe(source, { caller: hog, start: { kind: 'SINCE', at: new Date(base + i) }, filter: { product: 'marker' } }),
    );
    await Promise.all(hogs.map((s) => s.ready));
    const markersOwed = starts.reduce((sum, i) => sum + Array.from({ length: RECORDS - i }, (_, k) => i + k).filter(isMarker).length, 0);
    await waitFor('the hog to be replaying', () => (hogs.some((s) => s.events.length > 0) ? true : undefined));

    const began = Date.now();
    const behind = subscribe(source, durable);
    await waitFor(
      `the durable subscriber's ${beesIds.length} events`,
      () => (behind.events.length >= beesIds.length ? true : undefined),
      120_000,
    );
    const tookMs = Date.now() - began;
    const markersSeen = hogs.reduce((sum, s) => sum + s.events.length, 0);
    // Its events all sit in one partition (keyed by account): exactly these, in the order they were published.
    expect(behind.ids()).toEqual(beesIds);
    // Sharing the reads in turn, the one subscriber catching up goes through the topic several times faster than each
    // of the sixty replaying it; one queue for all made it as slow as any of them, done only as they were.
    const hogProgress = markersSeen / markersOwed;
    console.log(`caught up ${RECORDS} records in ${tookMs} ms; the hog's subscriptions meanwhile read ${(hogProgress * 100).toFixed(1)}%`);
    expect(hogProgress).toBeLessThan(0.5);
    await Promise.all([behind, ...hogs].map((s) => s.stop()));
  });
});
