import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect } from 'vitest';
import { createKafkaWire } from '../../src/adapters/kafka/kafka-wire.js';
import type { LogClient } from '../../src/streaming/log-client.js';
import { testKafka, waitFor } from '../support/resources.js';
import {
  drained,
  it,
  ordersFor,
  recon,
  type SettledOrderDelivery,
  type Subscriber,
  sorted,
  subscribe,
} from './kafka-order-source.fixtures.js';

const ROUNDS = 24;
const SUBSCRIBERS_PER_SOURCE = 3;

/** Per partition, the offsets a subscriber received, in the order it received them. */
const offsetsByPartition = (events: readonly SettledOrderDelivery[]) => {
  const byPartition = new Map<number, bigint[]>();
  for (const event of events) byPartition.set(event.partition, [...(byPartition.get(event.partition) ?? []), BigInt(event.offset)]);
  return byPartition;
};

describe('a since subscription while records are being appended', () => {
  it('should give every subscriber every record at or after the instant, round after round of bursts', { timeout: 240_000 }, async ({
    env,
  }) => {
    // The real broker, with the watermarks asked a little late, as a busy link answers: the window in which a record can
    // land between the two lookups a `since` start needs is then tens of milliseconds wide instead of a fraction of one.
    const wire = createKafkaWire(testKafka());
    const slowMarks: LogClient = {
      ...wire,
      watermarks: async (topic) => {
        await sleep(10 + Math.random() * 30);
        return wire.watermarks(topic);
      },
    };
    const sources = [env.source(), env.source({ log: slowMarks })];
    let lastSentAt = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      // Every record of earlier rounds is stamped before the instant.
      while (Date.now() <= lastSentAt + 1) await sleep(1);
      const since = new Date();
      const subscribers: Subscriber[] = [];
      const open = () => {
        for (const source of sources)
          subscribers.push(subscribe(source, { caller: recon, start: { kind: 'SINCE', at: since }, filter: {} }));
      };
      // Half the subscribers ask before the first burst lands, half while the bursts go on.
      for (let i = 0; i < SUBSCRIBERS_PER_SOURCE - 1; i++) open();
      const appended: string[] = [];
      let appending = true;
      const bursts = (async () => {
        await sleep(round % 4);
        while (appending) {
          appended.push(...(await env.publish(ordersFor(1 + (round % 5)))));
          lastSentAt = Date.now();
        }
      })();
      await sleep(5);
      open();
      await Promise.all(subscribers.map((s) => s.ready));
      // Bursts after every subscriber is ready, too.
      const atReady = appended.length;
      await waitFor('two more bursts', () => (appended.length >= atReady + 2 * (1 + (round % 5)) ? true : undefined));
      appending = false;
      await bursts;

      const received = await drained(env, subscribers);
      lastSentAt = Date.now();
      received.forEach((ids, i) => {
        expect({ round, subscriber: i, ids: sorted(ids) }).toEqual({ round, subscriber: i, ids: sorted(appended) });
        for (const offsets of offsetsByPartition(subscribers[i]!.events).values()) {
          expect(offsets).toEqual([...offsets].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        }
      });
      await Promise.all(subscribers.map((s) => s.stop()));
    }
  });
});
