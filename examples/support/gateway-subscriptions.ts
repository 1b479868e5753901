/**
 * The one subscription client of the project, for orderSettled and any other declared-topic field: the examples, the
 * tests (test/support/subscriber.ts) and the bench (bench/lib/subscribers.ts, subscriber-swarm.ts, event-observer.ts)
 * all open their graphql-ws sockets and subscriptions here. Each picks the fields it reads and its socket's retry
 * policy; the wiring is the same.
 */
import { type Client, type ClientOptions, createClient } from 'graphql-ws';
import WebSocket from 'ws';

/**
 * A subscription of a declared-topic field (`@topic`, CONTRACT.md) with every argument the contract gives such a
 * field; `filterType` is the field's filter input (OrderFilter for orderSettled), `selection` the fields of the event read.
 */
export const topicSubscriptionQuery = (field: string, filterType: string, selection: string): string =>
  `subscription($filter: ${filterType}, $subscriberId: String, $start: StartFrom, $afterCursor: String, $since: DateTime) {
  ${field}(filter: $filter, subscriberId: $subscriberId, start: $start, afterCursor: $afterCursor, since: $since) {
    ${selection}
  }
}`;

/** The orderSettled subscription with every argument of the contract; `selection` is the fields of the event read. */
export const orderSettledQuery = (selection: string): string => topicSubscriptionQuery('orderSettled', 'OrderFilter', selection);

/** The arguments of orderSettled (schema.graphql); a subscription passes those it needs. */
export interface OrderSettledVariables {
  filter?: Record<string, unknown>;
  subscriberId?: string;
  start?: 'EARLIEST' | 'LATEST' | 'COMMITTED';
  afterCursor?: string;
  since?: string;
}

/** What the gateway says of a refused or failed subscription: GraphQL errors with their extension code. */
export interface GatewayError {
  message: string;
  extensions?: { code?: string; field?: unknown; [key: string]: unknown };
}

/** Everything of graphql-ws's client but the address and the credentials, which gatewaySocket() sets. */
export type SocketOptions = Omit<ClientOptions, 'url' | 'webSocketImpl' | 'connectionParams'>;

/**
 * A graphql-ws client of the gateway whose HTTP address is `httpUrl` (its /graphql, over ws: or wss:), sending
 * `token` as `Bearer` in connection_init, or nothing for an anonymous caller. graphql-ws's defaults hold unless
 * `options` says otherwise (lazy, 5 retries).
 */
export function gatewaySocket(httpUrl: string, token: string | null, options: SocketOptions = {}): Client {
  const url = new URL('/graphql', httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return createClient({
    url: url.toString(),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    ...options,
  });
}

export interface SubscriptionHandlers<E> {
  /** One event (`data.orderSettled`). */
  event(event: E): void;
  /** GraphQL errors of a result, or the reason the subscription or its socket ended. */
  errors?(errors: GatewayError[]): void;
  /** The server completed the subscription. */
  complete?(): void;
}

/** graphql-ws rejects with a list of GraphQL errors, a CloseEvent, or an Error: all as a list of errors. */
export function asGatewayErrors(error: unknown): GatewayError[] {
  if (Array.isArray(error)) return error as GatewayError[];
  return [{ message: String((error as { reason?: string } | null)?.reason ?? error) }];
}

/**
 * Subscribes on `client` with `query` (orderSettledQuery(...) or any subscription whose root field is
 * orderSettled); returns the unsubscribe function, which sends `complete`.
 */
export function subscribeOrderSettled<E>(
  client: Client,
  query: string,
  variables: OrderSettledVariables | Record<string, unknown>,
  handlers: SubscriptionHandlers<E>,
): () => void {
  return client.subscribe<{ orderSettled: E }>(
    { query, variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors) handlers.errors?.(result.errors as GatewayError[]);
        if (result.data?.orderSettled) handlers.event(result.data.orderSettled);
      },
      error: (error) => handlers.errors?.(asGatewayErrors(error)),
      complete: () => handlers.complete?.(),
    },
  );
}
