import { fileURLToPath } from 'node:url';
import type { Client } from 'graphql-ws';
import type { Producer } from 'kafkajs';
import { asGatewayErrors, type GatewayError, gatewaySocket } from '../../examples/support/gateway-subscriptions.js';
import type { CleanupList } from './cleanup.js';
import { createTestTopic, deleteTopic, testKafka, waitFor } from './resources.js';

/** Declared-topic (`@topic`) tests: the SDL fixtures, a client of any declared field, and a plain kafkajs producer. */

const fixtures = fileURLToPath(new URL('../fixtures/declared-topics/', import.meta.url));

/** The absolute path of an SDL fixture, as SCHEMA_PATHS takes it. */
export const declaredTopicsFixture = (name: string): string => `${fixtures}${name}`;

export interface FieldSubscriber<E> {
  readonly events: E[];
  readonly errors: GatewayError[];
  /** The server ended the subscription: it completed it or sent an error. */
  readonly ended: boolean;
  /** Resolves with the events once `count` arrived. */
  received(count: number, timeoutMs?: number): Promise<E[]>;
  /** Resolves with the first error once one arrived (a refusal, or the reason the subscription ended). */
  refused(timeoutMs?: number): Promise<GatewayError>;
  /** Completes the subscription and closes its socket. */
  close(): Promise<void>;
}

/** One subscription of a declared field on a graphql-ws socket of its own (the project's client, examples/support), e.g. with topicSubscriptionQuery(...). */
export function subscribeField<E>(
  url: string,
  bearer: string,
  field: string,
  query: string,
  variables: Record<string, unknown> = {},
): FieldSubscriber<E> {
  const client: Client = gatewaySocket(url, bearer, { retryAttempts: 0 });
  const events: E[] = [];
  const errors: GatewayError[] = [];
  let ended = false;
  const unsubscribe = client.subscribe<Record<string, E>>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...(result.errors as GatewayError[]));
        const event = result.data?.[field];
        if (event) events.push(event);
      },
      error: (error) => {
        errors.push(...asGatewayErrors(error));
        ended = true;
      },
      complete: () => {
        ended = true;
      },
    },
  );
  return {
    events,
    errors,
    get ended() {
      return ended;
    },
    received: (count, timeoutMs = 30_000) =>
      waitFor(
        `${count} ${field} events (have ${events.length}, errors ${JSON.stringify(errors)})`,
        () => (events.length >= count ? events : undefined),
        timeoutMs,
      ),
    refused: (timeoutMs = 30_000) => waitFor(`an error on ${field} (have ${events.length} events)`, () => errors[0], timeoutMs),
    async close() {
      unsubscribe();
      await client.dispose();
    },
  };
}

/** A CloudEvent 1.0 in structured JSON mode; `data` left out when undefined. */
export const cloudEvent = (id: string, data: unknown, type = 'test.declared'): string =>
  JSON.stringify({
    specversion: '1.0',
    id,
    source: '/test/declared-topics',
    type,
    datacontenttype: 'application/json',
    ...(data !== undefined && { data }),
  });

export interface Published {
  readonly partition: number;
  readonly offset: string;
}

export interface PlainProducer {
  /** Sends each value (a string as it is, anything else as JSON) under `key`, in order; resolves with where each landed. */
  send(topic: string, key: string, values: readonly unknown[], timestamp?: number): Promise<Published[]>;
  disconnect(): Promise<void>;
}

/** A plain kafkajs producer, knowing nothing of the gateway (as a system publishing its own final state). */
export async function plainProducer(cleanups: CleanupList): Promise<PlainProducer> {
  const producer: Producer = testKafka().producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  return {
    async send(topic, key, values, timestamp) {
      const landed: Published[] = [];
      // One record per request: kafkajs reports one base offset per partition and batch.
      for (const value of values) {
        const [metadata] = await producer.send({
          topic,
          acks: -1,
          messages: [
            {
              key,
              value: typeof value === 'string' ? value : JSON.stringify(value),
              ...(timestamp !== undefined && { timestamp: String(timestamp) }),
            },
          ],
        });
        if (metadata?.baseOffset === undefined) throw new Error(`no offset for a record sent to ${topic}`);
        landed.push({ partition: metadata.partition, offset: metadata.baseOffset });
      }
      return landed;
    },
    disconnect: () => producer.disconnect(),
  };
}

/** Creates a fresh topic per variable (deleted by `cleanups`): the environment a fixture's `${VAR}` names read. */
export async function declaredTopics<V extends string>(cleanups: CleanupList, variables: readonly V[]): Promise<Record<V, string>> {
  const topics = {} as Record<V, string>;
  for (const variable of variables) {
    const created = await createTestTopic(3);
    cleanups.push(created.remove);
    topics[variable] = created.topic;
  }
  return topics;
}

/** Creates `topic` (by that name, for a topic the gateway was told of before it existed); `cleanups` deletes it. */
export async function createNamedTopic(cleanups: CleanupList, topic: string, partitions = 3): Promise<void> {
  cleanups.push(() => deleteTopic(topic));
  const admin = testKafka().admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: false });
    await waitFor(`leaders for every partition of ${topic}`, async () => {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => ({ topics: [] }));
      const found = topics[0]?.partitions ?? [];
      return found.length === partitions && found.every((p) => p.leader >= 0) ? true : undefined;
    });
  } finally {
    await admin.disconnect();
  }
}
