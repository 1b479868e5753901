import { randomUUID } from 'node:crypto';
import type { Producer } from 'kafkajs';
import { ORDER_SETTLED_TYPE } from '../../src/domain/order-event.js';
import { sleep } from './environment.js';

/** Publisher ticks per second: each tick appends one record for a tenth of the accounts, so each account gets 1/s. */
const TICKS_PER_SECOND = 10;

/** An orderSettled record as the relay writes it (CONTRACT.md), straight to the gateway's topic, keyed by its account. */
export function orderRecord(accountId: string, id = `dc-${randomUUID()}`) {
  const now = new Date().toISOString();
  const data = { id, accountId, amount: '1', currency: 'EUR', product: 'bench', reference: null, status: 'SETTLED' };
  return {
    key: accountId,
    value: JSON.stringify({
      specversion: '1.0',
      id: `evt-${id}`,
      type: ORDER_SETTLED_TYPE,
      source: 'bench',
      subject: id,
      time: now,
      datacontenttype: 'application/json',
      data: { ...data, balanceAfter: '0', idempotencyKey: id, createdAt: now, settledAt: now },
    }),
  };
}

export interface AccountPublisher {
  counts(): { published: number; errors: number; firstError: unknown };
  stop(): Promise<void>;
}

/** Appends one record a second to every account (acks all), a tenth of them each 100 ms, until stopped. */
export function startAccountPublisher(producer: Producer, topic: string, accounts: readonly string[]): AccountPublisher {
  let tick = 0;
  let published = 0;
  let errors = 0;
  let firstError: unknown;
  let stopped = false;
  const loop = (async () => {
    const started = Date.now();
    while (!stopped) {
      const slice = accounts.filter((_, i) => i % TICKS_PER_SECOND === tick % TICKS_PER_SECOND);
      if (slice.length > 0) {
        await producer.send({ topic, acks: -1, messages: slice.map((accountId) => orderRecord(accountId)) }).then(
          () => {
            published += slice.length;
          },
          (error: unknown) => {
            errors++;
            firstError ??= error;
          },
        );
      }
      tick++;
      await sleep(Math.max(0, started + (tick * 1000) / TICKS_PER_SECOND - Date.now()));
    }
  })();
  return {
    counts: () => ({ published, errors, firstError }),
    async stop() {
      stopped = true;
      await loop;
    },
  };
}
