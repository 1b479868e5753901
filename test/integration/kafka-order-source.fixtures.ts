import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { test } from 'vitest';
import { createKafkaOrderSource, type KafkaOrderSourceOptions } from '../../src/adapters/kafka/kafka-order-source.js';
import type { Caller } from '../../src/domain/caller.js';
import type { Order } from '../../src/domain/order.js';
import { CLOUDEVENT_CONTENT_TYPE, toOrderSettledEvent } from '../../src/domain/order-event.js';
import type { SettledOrderDelivery, SettledOrderSource, SubscribeRequest } from '../../src/ports/settled-order-source.js';
import { createTestTopic, testKafka, uniqueName, waitFor } from '../support/resources.js';

export const PARTITIONS = 3;
export const CURSOR_SECRET = 'kafka-order-source-test';

export const callerOf = (sub = 'recon'): Caller => ({
  sub,
  scopes: new Set(['orders:read:all']),
  accounts: new Set(),
  expiresAt: new Date(Date.now() + 3_600_000),
});

export const recon = callerOf('recon');

export const sorted = (ids: readonly string[]): string[] => [...ids].sort();

export function orderOf(accountId: string, extra: Partial<Order> = {}): Order {
  const at = new Date();
  return {
    id: randomUUID(),
    accountId,
    amount: 1999n,
    currency: 'USD',
    product: 'phone-topup',
    reference: null,
    status: 'SETTLED',
    balanceAfter: 10_000n,
    idempotencyKey: randomUUID(),
    createdAt: at,
    settledAt: at,
    ...extra,
  };
}

/** A subscription read the way graphql-ws reads one: it asks for the next value once the last one is handled. */
export interface Subscriber {
  readonly events: SettledOrderDelivery[];
  readonly subscribedAt: number;
  /** Resolves with the time onReady was called; rejects if the subscription ended first. */
  readonly ready: Promise<number>;
  readonly ended: Promise<void>;
  ids(): string[];
  until(count: number): Promise<SettledOrderDelivery[]>;
  stop(): Promise<void>;
}

export function subscribe(source: SettledOrderSource, request: Omit<SubscribeRequest, 'onReady'>): Subscriber {
  const subscribedAt = Date.now();
  let markReady: (at: number) => void = () => {};
  const readyCalled = new Promise<number>((resolve) => {
    markReady = resolve;
  });
  const generator = source.subscribe({ ...request, onReady: () => markReady(Date.now()) });
  const events: SettledOrderDelivery[] = [];
  const ended = (async () => {
    for await (const event of generator) events.push(event);
  })();
  ended.catch(() => {});
  const ready = Promise.race([readyCalled, ended.then(() => Promise.reject(new Error('the subscription ended before it was ready')))]);
  ready.catch(() => {});
  return {
    events,
    subscribedAt,
    ready,
    ended,
    ids: () => events.map((e) => e.eventId),
    until: (count) => waitFor(`${count} events`, () => (events.length >= count ? events.slice() : undefined)),
    async stop() {
      await generator.return(undefined);
      await ended;
    },
  };
}

export type KafkaEnv = Awaited<ReturnType<typeof kafkaEnv>>;

/** A topic, clients and a group prefix of one test's own; `dispose()` removes all of them. */
export async function kafkaEnv() {
  const { topic, remove } = await createTestTopic(PARTITIONS);
  const kafka = testKafka();
  const admin = kafka.admin();
  // Idempotent: a retried send after NOT_LEADER on a just-created topic must not write records twice.
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await Promise.all([admin.connect(), producer.connect()]);
  const groupPrefix = uniqueName('gqltest');
  const logLines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logLines.push(line) });
  const sources: SettledOrderSource[] = [];

  const groups = async () => (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(`${groupPrefix}.`));

  const send = async (messages: { key: string; value: string | null; partition?: number; timestamp?: string }[]) => {
    await producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({ ...m, headers: { 'content-type': CLOUDEVENT_CONTENT_TYPE } })),
    });
  };

  return {
    topic,
    admin,
    groupPrefix,
    logLines,
    groups,
    send,
    source(options: Partial<KafkaOrderSourceOptions> = {}): SettledOrderSource {
      const source = createKafkaOrderSource({ kafka, topic, groupPrefix, cursorSecret: CURSOR_SECRET, logger, ...options });
      sources.push(source);
      return source;
    },
    /** Publishes one CloudEvent per order, keyed by account; returns their event ids in order. */
    async publish(orders: Order[], placement: { partition?: number; timestamp?: number } = {}): Promise<string[]> {
      const ids = orders.map(() => randomUUID());
      await send(
        orders.map((order, i) => ({
          key: order.accountId,
          value: JSON.stringify(toOrderSettledEvent(ids[i] ?? '', order)),
          ...(placement.partition !== undefined && { partition: placement.partition }),
          ...(placement.timestamp !== undefined && { timestamp: String(placement.timestamp) }),
        })),
      );
      return ids;
    },
    /** One event on every partition: once a subscriber saw them all, it has handled everything published before. */
    async publishSentinels(): Promise<string[]> {
      const ids: string[] = [];
      for (let partition = 0; partition < PARTITIONS; partition++) {
        ids.push(...(await this.publish([orderOf('sentinel', { product: 'sentinel' })], { partition })));
      }
      return ids;
    },
    async dispose(): Promise<void> {
      await Promise.all(sources.map((s) => s.close()));
      await admin.deleteGroups(await groups()).catch(() => {});
      await producer.disconnect();
      await admin.disconnect();
      await remove();
    },
  };
}

/** Spreads `count` orders over several accounts, so over every partition. */
export const ordersFor = (count: number, extra: Partial<Order> = {}): Order[] =>
  Array.from({ length: count }, (_, i) => orderOf(`acct-${i % 7}`, extra));

/**
 * Publishes an event on every partition and waits until each subscriber saw all
 * of them (with `shared`, until they saw them between them); returns what each
 * received, sentinels excluded. Partitions keep order, so nothing published
 * before is still to come.
 */
export async function drained(env: KafkaEnv, subscribers: Pick<Subscriber, 'ids'>[], { shared = false } = {}): Promise<string[][]> {
  const sentinels = new Set(await env.publishSentinels());
  const seen = (s: Pick<Subscriber, 'ids'>) => s.ids().filter((id) => sentinels.has(id)).length;
  await waitFor('the sentinels', () => {
    const done = shared
      ? subscribers.reduce((sum, s) => sum + seen(s), 0) >= sentinels.size
      : subscribers.every((s) => seen(s) >= sentinels.size);
    return done ? true : undefined;
  });
  return subscribers.map((s) => s.ids().filter((id) => !sentinels.has(id)));
}

/** `it` with an `env` fixture: a fresh KafkaEnv for each test that asks for one, disposed after it. */
export const it = test.extend<{ env: KafkaEnv }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from this pattern
  env: async ({}, use) => {
    const env = await kafkaEnv();
    try {
      await use(env);
    } finally {
      await env.dispose();
    }
  },
});

/**
 * A topic and a settled-order source on given brokers (a test's private broker), both removed by `cleanups`.
 * For tests that stop or reconfigure Kafka, where the `env` fixture's shared broker will not do.
 */
export async function sourceOnBrokers(
  brokers: string[],
  cleanups: { push(...steps: (() => unknown)[]): void },
  options: Partial<KafkaOrderSourceOptions> & { groupPrefix: string },
) {
  const { topic, remove } = await createTestTopic(2, brokers);
  cleanups.push(remove);
  const kafka = testKafka(brokers);
  const source = createKafkaOrderSource({ kafka, topic, cursorSecret: CURSOR_SECRET, logger: pino({ level: 'silent' }), ...options });
  cleanups.push(() => source.close());
  return { topic, kafka, source };
}
