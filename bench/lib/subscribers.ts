import { createClient } from 'graphql-ws';
import type { Consumer } from 'kafkajs';
import WebSocket from 'ws';
import { kafkaClient } from './environment.js';

export const ORDER_SETTLED =
  'subscription($f: OrderFilter, $s: String) { orderSettled(filter: $f, subscriberId: $s) { order { id accountId } } }';

/** A graphql-ws connection to the gateway (loopback only), authenticated with `token`. */
export function wsClient(httpUrl: string, token: string) {
  const url = new URL('/graphql', httpUrl);
  if (url.hostname !== '127.0.0.1') throw new Error(`benchmarks target loopback only, not ${url.host}`);
  url.protocol = 'ws:';
  return createClient({
    url: url.toString(),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    retryAttempts: 0,
  });
}

export type WsClient = ReturnType<typeof wsClient>;

/** Calls `onOrder(id)` for every orderSettled event; returns the unsubscribe function. */
export function subscribeOrders(
  client: WsClient,
  variables: { f?: { accountId: string }; s?: string },
  onOrder: (id: string, accountId: string) => void,
  onError: (error: unknown) => void = () => {},
): () => void {
  return client.subscribe<{ orderSettled: { order: { id: string; accountId: string } } }>(
    { query: ORDER_SETTLED, variables },
    {
      next: (result) => {
        const order = result.data?.orderSettled.order;
        if (order) onOrder(order.id, order.accountId);
      },
      error: onError,
      complete: () => {},
    },
  );
}

/** A bare kafkajs consumer on `topic` from its end, calling `onOrder(id)` for every record. */
export async function bareConsumer(brokers: string, topic: string, groupId: string, onOrder: (id: string) => void): Promise<Consumer> {
  const consumer = kafkaClient(brokers).consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const event = JSON.parse(String(message.value)) as { data?: { id?: string } };
      if (event.data?.id) onOrder(event.data.id);
    },
  });
  return consumer;
}

/**
 * Pairs placeOrder responses with the moments an order's event arrived, in either order: an event that arrives
 * before its response counts as no delay (the response is sent after the commit, so it can lose the race).
 */
export function delayTracker() {
  const respondedAt = new Map<string, number>();
  const arrivedAt = new Map<string, number>();
  const delays: number[] = [];
  return {
    responded(id: string) {
      const arrived = arrivedAt.get(id);
      if (arrived !== undefined) {
        arrivedAt.delete(id);
        delays.push(0);
      } else respondedAt.set(id, performance.now());
    },
    arrived(id: string) {
      const responded = respondedAt.get(id);
      if (responded !== undefined) {
        respondedAt.delete(id);
        delays.push(performance.now() - responded);
      } else arrivedAt.set(id, performance.now());
    },
    get count() {
      return delays.length;
    },
    /** Starts a new measurement: what is in flight is forgotten. */
    reset() {
      respondedAt.clear();
      arrivedAt.clear();
      delays.length = 0;
    },
    delays: () => [...delays],
  };
}
