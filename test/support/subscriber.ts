import type { Socket } from 'node:net';
import type { Client } from 'graphql-ws';
import type WebSocket from 'ws';
import {
  type GatewayError,
  gatewaySocket,
  orderSettledQuery,
  subscribeOrderSettled,
} from '../../examples/support/gateway-subscriptions.js';
import { waitFor } from './resources.js';

/** The tests' orderSettled client is the project's one (examples/support/gateway-subscriptions.ts), reading every field. */
export const ORDER_SETTLED = orderSettledQuery(`eventId partition offset publishedAt cursor
    order { id accountId amount currency product reference status balanceAfter idempotencyKey createdAt settledAt }`);

export interface SettledEvent {
  eventId: string;
  partition: number;
  offset: string;
  publishedAt: string;
  cursor: string;
  order: { id: string; accountId: string; amount: string; currency: string; product: string; balanceAfter: string; idempotencyKey: string };
}

export interface Subscriber {
  readonly events: SettledEvent[];
  readonly errors: GatewayError[];
  readonly closeCodes: number[];
  completed: boolean;
  /** Resolves when `count` events arrived. */
  received(count: number, timeoutMs?: number): Promise<SettledEvent[]>;
  /** Sends complete for the subscription and closes the socket. */
  close(): Promise<void>;
}

export interface Connection {
  readonly closeCodes: number[];
  /** Starts an orderSettled subscription on this connection's socket. */
  subscribe(variables?: Record<string, unknown>): Subscriber;
  /** Runs any operation on this connection's socket. */
  run(query: string, variables?: Record<string, unknown>): Subscriber;
  /** Stops reading the socket, as a stalled client does: nothing arrives, and a close handshake cannot complete. */
  pauseReading(): void;
  resumeReading(): void;
  close(): Promise<void>;
}

/** One graphql-ws socket; `lazy: false` keeps it open between subscriptions. */
export function connect(httpUrl: string, bearer: string | null, options: { lazy?: boolean } = {}): Connection {
  const closeCodes: number[] = [];
  let socket: WebSocket | undefined;
  // ws keeps its TCP socket in a private field; pausing it is how a test plays a client that stopped reading.
  const tcp = () => (socket as unknown as { _socket?: Socket } | undefined)?._socket;
  const client: Client = gatewaySocket(httpUrl, bearer, {
    retryAttempts: 0,
    lazy: options.lazy ?? true,
    onNonLazyError: () => {},
    on: {
      opened: (opened) => {
        socket = opened as WebSocket;
      },
      closed: (event) => closeCodes.push((event as { code: number }).code),
    },
  });
  return {
    closeCodes,
    subscribe: (variables = {}) => subscribeOn(client, closeCodes, variables),
    run: (query, variables = {}) => subscribeOn(client, closeCodes, variables, query),
    pauseReading: () => tcp()?.pause(),
    resumeReading: () => tcp()?.resume(),
    async close() {
      await client.dispose();
    },
  };
}

function subscribeOn(client: Client, closeCodes: number[], variables: Record<string, unknown>, query = ORDER_SETTLED): Subscriber {
  const subscriber: Subscriber = {
    events: [],
    errors: [],
    closeCodes,
    completed: false,
    received: (count, timeoutMs = 30_000) =>
      waitFor(
        `${count} events (have ${subscriber.events.length}, errors ${JSON.stringify(subscriber.errors)})`,
        () => (subscriber.events.length >= count ? subscriber.events : undefined),
        timeoutMs,
      ),
    async close() {
      unsubscribe();
    },
  };
  const unsubscribe = subscribeOrderSettled<SettledEvent>(client, query, variables, {
    event: (event) => subscriber.events.push(event),
    errors: (errors) => subscriber.errors.push(...errors),
    complete: () => {
      subscriber.completed = true;
    },
  });
  return subscriber;
}

/** A subscription on a socket of its own; close() completes it and closes the socket. */
export function subscribe(httpUrl: string, bearer: string | null, variables: Record<string, unknown> = {}): Subscriber {
  const connection = connect(httpUrl, bearer);
  const subscriber = connection.subscribe(variables);
  return {
    ...subscriber,
    get events() {
      return subscriber.events;
    },
    get errors() {
      return subscriber.errors;
    },
    get completed() {
      return subscriber.completed;
    },
    async close() {
      await subscriber.close();
      await connection.close();
    },
  };
}

/**
 * A LATEST subscription only sees orders published after it joined, and a
 * client cannot observe the join: place warm-up orders until every subscriber
 * has received one, then the subscribers are known to be live.
 */
export async function untilLive(
  subscribers: Subscriber[],
  placeWarmUp: (attempt: number) => Promise<void>,
  timeoutMs = 30_000,
): Promise<void> {
  let attempt = 0;
  const deadline = Date.now() + timeoutMs;
  while (!subscribers.every((s) => s.events.length > 0)) {
    if (Date.now() > deadline)
      throw new Error(`subscribers not live after ${timeoutMs} ms: ${JSON.stringify(subscribers.map((s) => s.errors))}`);
    await placeWarmUp(attempt++);
    const until = Date.now() + 1000;
    await waitFor('a warm-up event or the next attempt', () =>
      subscribers.every((s) => s.events.length > 0) || Date.now() > until ? true : undefined,
    );
  }
}

/** A connection whose client sends graphql-ws pings of its own choosing (token refresh, CONTRACT.md) and sees the pongs. */
export interface PingingConnection extends Connection {
  /** The payload of every pong the server sent, in order (undefined for a pong without one). */
  readonly pongs: (Record<string, unknown> | undefined)[];
  /** Sends `{"type":"ping"}` with `payload` once the socket is acknowledged; resolves with the payload of the pong that answers it. */
  ping(payload?: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown> | undefined>;
  /** Pings with `{"authorization": "Bearer <bearer>"}`; resolves with the pong's payload. */
  refresh(bearer: string, timeoutMs?: number): Promise<Record<string, unknown> | undefined>;
}

/** One acknowledged graphql-ws socket (not lazy) that can ping with a payload. */
export function connectPinging(httpUrl: string, bearer: string): PingingConnection {
  const closeCodes: number[] = [];
  const pongs: (Record<string, unknown> | undefined)[] = [];
  let socket: WebSocket | undefined;
  let acknowledged = false;
  const tcp = () => (socket as unknown as { _socket?: Socket } | undefined)?._socket;
  const client: Client = gatewaySocket(httpUrl, bearer, {
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => {},
    on: {
      opened: (opened) => {
        socket = opened as WebSocket;
      },
      connected: () => {
        acknowledged = true;
      },
      pong: (received, payload) => {
        if (received) pongs.push(payload);
      },
      closed: (event) => closeCodes.push((event as { code: number }).code),
    },
  });
  const ping = async (payload?: Record<string, unknown>, timeoutMs = 10_000) => {
    await waitFor('the socket to be acknowledged', () => (acknowledged ? true : undefined), timeoutMs);
    const answered = pongs.length;
    socket?.send(JSON.stringify(payload === undefined ? { type: 'ping' } : { type: 'ping', payload }));
    await waitFor(
      `a pong (close codes ${JSON.stringify(closeCodes)})`,
      () => (pongs.length > answered ? true : closeCodes.length > 0 ? false : undefined),
      timeoutMs,
    ).then((ponged) => {
      if (!ponged) throw new Error(`the socket closed (${closeCodes.join(', ')}) instead of answering the ping`);
    });
    return pongs[answered];
  };
  return {
    closeCodes,
    pongs,
    subscribe: (variables = {}) => subscribeOn(client, closeCodes, variables),
    run: (query, variables = {}) => subscribeOn(client, closeCodes, variables, query),
    pauseReading: () => tcp()?.pause(),
    resumeReading: () => tcp()?.resume(),
    ping,
    refresh: (next, timeoutMs) => ping({ authorization: `Bearer ${next}` }, timeoutMs),
    async close() {
      await client.dispose();
    },
  };
}
