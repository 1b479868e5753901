import type { Consumer } from 'kafkajs';
import {
  gatewaySocket,
  type OrderSettledVariables,
  orderSettledQuery,
  subscribeOrderSettled,
} from '../../examples/support/gateway-subscriptions.js';
import { kafkaClient } from './environment.js';

export const ORDER_SETTLED = orderSettledQuery('order { id accountId }');

/** A graphql-ws connection to the gateway (loopback only), authenticated with `token`, open at once, never retried. */
export function wsClient(httpUrl: string, token: string) {
  const url = new URL(httpUrl);
  if (url.hostname !== '127.0.0.1') throw new Error(`benchmarks target loopback only, not ${url.host}`);
  return gatewaySocket(httpUrl, token, { lazy: false, retryAttempts: 0 });
}

export type WsClient = ReturnType<typeof wsClient>;

/** Calls `onOrder(id)` for every orderSettled event; returns the unsubscribe function. */
export function subscribeOrders(
  client: WsClient,
  variables: OrderSettledVariables,
  onOrder: (id: string, accountId: string) => void,
  onError: (error: unknown) => void = () => {},
): () => void {
  return subscribeOrderSettled<{ order: { id: string; accountId: string } }>(client, ORDER_SETTLED, variables, {
    event: ({ order }) => onOrder(order.id, order.accountId),
    errors: onError,
  });
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
