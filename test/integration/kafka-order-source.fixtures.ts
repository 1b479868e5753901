import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { test } from 'vitest';
import {
  createKafkaTopicSource,
  type KafkaTopicSource,
  type KafkaTopicSourceOptions,
} from '../../src/adapters/kafka/kafka-topic-source.js';
import type { Caller } from '../../src/domain/caller.js';
import type { Order } from '../../src/domain/order.js';
import { CLOUDEVENT_CONTENT_TYPE, toOrderSettledEvent } from '../../src/domain/order-event.js';
import { buildGatewayGraphQL } from '../../src/graphql/schema.js';
import { recordRejections } from '../../src/observability/record-rejections.js';
import type { SubscribeRequest, TopicEvent } from '../../src/ports/topic-event-source.js';
import type { DeclaredTopic, RecordRejection } from '../../src/subscriptions/declared-topics.js';
import { keyFilterValue } from '../../src/subscriptions/filter-matching.js';
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

/** `OrderFilter` of the schema, as a resolver receives it. */
export interface OrderFilterValue {
  readonly accountId?: string;
  readonly currency?: string;
  readonly product?: string;
  readonly minAmount?: bigint;
}

/** What these tests ask of the source: orderSettled's request, its filter given as the schema's OrderFilter. */
export type OrderSubscribeRequest = Omit<SubscribeRequest, 'accept' | 'key' | 'filter'> & { readonly filter: OrderFilterValue };

/** One settled order as a subscriber receives it (`SettledOrderEvent` of the schema). */
export interface SettledOrderDelivery extends Omit<TopicEvent, 'payload'> {
  readonly order: Order;
}

type OrderStream = Pick<AsyncGenerator<SettledOrderDelivery, void, undefined>, 'next' | 'return' | 'throw' | typeof Symbol.asyncIterator>;

/** The topic source serving the schema's own orderSettled declaration on one test topic, seen as orders. */
export interface SettledOrderSource extends Omit<KafkaTopicSource, 'subscribe'> {
  subscribe(request: OrderSubscribeRequest): OrderStream;
}

/** orderSettled as schema.graphql declares it, on `topic`. */
export function orderSettledOn(topic: string): DeclaredTopic {
  const declared = buildGatewayGraphQL({ env: { ORDERS_TOPIC: topic } }).topics.find((t) => t.declaration.field === 'orderSettled');
  if (!declared) throw new Error('schema.graphql no longer declares orderSettled');
  return declared;
}

/** Binds the filter as the generic resolver does, and reads events' payloads as orders. */
export function settledOrderSource(options: Omit<KafkaTopicSourceOptions, 'topics'> & { readonly topic: string }): SettledOrderSource {
  const declared = orderSettledOn(options.topic);
  const source = createKafkaTopicSource({ ...options, topics: [declared] });
  const toDelivery = (event: TopicEvent): SettledOrderDelivery => ({
    eventId: event.eventId,
    order: event.payload as unknown as Order,
    partition: event.partition,
    offset: event.offset,
    publishedAt: event.publishedAt,
    // Read through, not copied: a cursor is signed when read.
    get cursor() {
      return event.cursor;
    },
  });
  const mapped = async (step: Promise<IteratorResult<TopicEvent, void>>): Promise<IteratorResult<SettledOrderDelivery, void>> => {
    const result = await step;
    return result.done ? result : { done: false, value: toDelivery(result.value) };
  };
  const asOrders = (inner: AsyncGenerator<TopicEvent, void, undefined>): OrderStream => {
    const stream: OrderStream = {
      next: () => mapped(inner.next()),
      return: (value) => mapped(inner.return(value)),
      throw: (error) => mapped(inner.throw(error)),
      [Symbol.asyncIterator]: () => stream,
    };
    return stream;
  };
  return Object.assign(Object.create(source) as KafkaTopicSource, {
    subscribe(request: OrderSubscribeRequest): OrderStream {
      const keys = keyFilterValue(request.filter as Record<string, unknown>, 'accountId');
      return asOrders(
        source.subscribe('orderSettled', {
          ...request,
          accept: declared.filter ? declared.filter(request.filter as Record<string, unknown>) : () => true,
          ...(keys?.length === 1 && { key: keys[0] }),
          filter: request.filter as Record<string, unknown>,
        }),
      );
    },
  });
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

export function subscribe(source: SettledOrderSource, request: Omit<OrderSubscribeRequest, 'onReady'>): Subscriber {
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
  const rejections: RecordRejection[] = [];
  const reportRejection = recordRejections({ logger, count: () => {} });

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
    /** Every record the sources skipped as not fitting orderSettled, in the order they were read. */
    rejections,
    groups,
    send,
    source(options: Partial<Omit<KafkaTopicSourceOptions, 'topics'> & { topic: string }> = {}): SettledOrderSource {
      const source = settledOrderSource({
        kafka,
        topic,
        groupPrefix,
        cursorSecret: CURSOR_SECRET,
        logger,
        rejected: (rejection) => {
          rejections.push(rejection);
          reportRejection(rejection);
        },
        ...options,
      });
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
  options: Partial<Omit<KafkaTopicSourceOptions, 'topics'>> & { groupPrefix: string },
) {
  const { topic, remove } = await createTestTopic(2, brokers);
  cleanups.push(remove);
  const kafka = testKafka(brokers);
  const source = settledOrderSource({ kafka, topic, cursorSecret: CURSOR_SECRET, logger: pino({ level: 'silent' }), ...options });
  cleanups.push(() => source.close());
  return { topic, kafka, source };
}
