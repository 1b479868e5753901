import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { OutboxLease, OutboxStore, PendingRecord, RecordPublisher } from '../../src/ports/outbox.js';
import { createOutboxRelay, type OutboxRelay } from '../../src/relay/outbox-relay.js';
import { waitFor } from '../support/resources.js';

// The relay's loop alone, on a scripted outbox: when it asks for wakes (armWake) decides whether a commit can be left
// waiting for the poll. The outbox and Kafka themselves are covered by relay-linger.test.ts and the fault suite.

const record = (id: number): PendingRecord => ({ id: BigInt(id), eventId: `e${id}`, topic: 't', key: 'k', value: '{}' });

/** An outbox whose reads return what `rows` holds at the moment of the read, and mark what was published. */
function scriptedOutbox() {
  const rows: PendingRecord[] = [];
  const events: string[] = [];
  const lease: OutboxLease = {
    async pending() {
      events.push(`read ${rows.length}`);
      return [...rows];
    },
    async markPublished(ids) {
      for (const id of ids)
        rows.splice(
          rows.findIndex((r) => r.id === id),
          1,
        );
    },
    countPending: async () => rows.length,
    release: async () => {},
  };
  const store: OutboxStore = { tryLease: async () => lease, onCommit: async () => ({ stop: async () => {} }) };
  const published: bigint[] = [];
  const publisher: RecordPublisher = {
    publish: async (records) => void published.push(...records.map((r) => r.id)),
    reset: async () => {},
    close: async () => {},
  };
  return { rows, events, store, publisher, published };
}

let relay: OutboxRelay | undefined;
afterEach(async () => relay?.stop());

describe('the outbox relay asking for wakes', () => {
  it('should ask again after a wake that found nothing new, so the next commit wakes it (not the poll)', async () => {
    const outbox = scriptedOutbox();
    let armed = 0;
    relay = createOutboxRelay({
      store: outbox.store,
      publisher: outbox.publisher,
      logger: pino({ level: 'silent' }),
      pollMs: 60_000,
      lingerMs: 0,
      armWake: () => {
        armed++;
        outbox.events.push('armed');
      },
    });
    outbox.rows.push(record(1));
    await relay.start();
    await waitFor('the first record published and the relay asleep, armed', () =>
      outbox.published.length === 1 && armed === 1 && outbox.events.at(-1) === 'read 0' ? true : undefined,
    );
    // A late wake: the caller of record 1 learnt of its commit only now, after the relay published it.
    relay.wake();
    await waitFor('the relay to arm again before it sleeps', () => (armed === 2 ? true : undefined));
    // Armed again, so the thread posts the next commit's wake: record 2 goes out without the poll.
    outbox.rows.push(record(2));
    relay.wake();
    await waitFor('record 2 published', () => (outbox.published.length === 2 ? true : undefined));
    expect(outbox.published).toEqual([1n, 2n]);
  });

  it('should not ask for wakes while every read finds records', async () => {
    const outbox = scriptedOutbox();
    let armed = 0;
    relay = createOutboxRelay({
      store: outbox.store,
      publisher: {
        ...outbox.publisher,
        publish: async (records) => {
          outbox.published.push(...records.map((r) => r.id));
          // Records keep coming: each send finds the next one committed.
          if (outbox.published.length < 5) outbox.rows.push(record(outbox.published.length + 1));
        },
      },
      logger: pino({ level: 'silent' }),
      pollMs: 60_000,
      lingerMs: 0,
      armWake: () => void armed++,
    });
    outbox.rows.push(record(1));
    await relay.start();
    await waitFor('five records published', () => (outbox.published.length === 5 ? true : undefined));
    await waitFor('the relay to go idle', () => (armed === 1 ? true : undefined));
    expect(outbox.events.filter((e) => e === 'armed' || e.startsWith('read'))).toEqual([
      'read 1',
      'read 1',
      'read 1',
      'read 1',
      'read 1',
      'read 0',
      'read 0',
    ]);
  });
});
