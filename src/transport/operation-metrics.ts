import type { ServerResponse } from 'node:http';
import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from '@apollo/server';
import { type GraphQLFormattedError, type GraphQLSchema, getOperationAST, Kind, type OperationDefinitionNode, parse } from 'graphql';

/**
 * The transports' hooks for metrics: what they report, and the small pieces that find it out (which operation, which
 * outcome, how long) without allocating on a request's way.
 */

export type Transport = 'http' | 'websocket' | 'sse';

/** What an HTTP request is, for metrics: the route family of its path. */
export type HttpRoute = 'graphql' | 'explorer' | 'metrics' | 'healthz' | 'readyz' | 'other';

/** The operation label of anything but a single root field: several, introspection, or a document that did not parse. */
export const OTHER_OPERATION = 'other';
/** The outcome of an operation answered without errors. */
export const OK = 'OK';
/** The outcome of an operation whose first error has no code (none should reach a client). */
export const OTHER_CODE = 'OTHER';

export interface OperationObserver {
  /**
   * A GraphQL operation was answered: `operation` is its root field (or OTHER_OPERATION), `code` the first error's
   * `extensions.code` (or OK), `seconds` from the request's arrival (HTTP) or its subscribe message (websocket) to
   * the answer; a subscription is answered once it started (OK) or was refused.
   */
  operation(transport: Transport, operation: string, code: string, seconds: number): void;
}

export interface HttpObserver extends OperationObserver {
  /** An HTTP response was sent in full. */
  request(route: HttpRoute, status: number, seconds: number): void;
}

export interface WebSocketObserver extends OperationObserver {
  /** A socket was closed because its peer stopped answering pings: a client that stopped reading, or vanished. */
  unresponsiveClosed(): void;
}

/** Every root field of the schema: the operation labels there can be, beside OTHER_OPERATION. */
export function rootFieldNames(schema: GraphQLSchema): string[] {
  return [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
    type ? Object.keys(type.getFields()) : [],
  );
}

/** The operation's one root field, or OTHER_OPERATION. */
export function rootField(operation: OperationDefinitionNode | null | undefined): string {
  const selections = operation?.selectionSet.selections;
  const only = selections?.length === 1 ? selections[0] : undefined;
  return only?.kind === Kind.FIELD && !only.name.value.startsWith('__') ? only.name.value : OTHER_OPERATION;
}

/** The root field of a request's text; for requests refused before GraphQL parsed them (rate limit, bad token). */
export function rootFieldOfText(query: unknown, operationName: unknown): string {
  if (typeof query !== 'string') return OTHER_OPERATION;
  try {
    // Bounded: a refused request must not cost a full parse of whatever it sent.
    const document = parse(query, { noLocation: true, maxTokens: 2000 });
    return rootField(getOperationAST(document, typeof operationName === 'string' ? operationName : undefined));
  } catch {
    return OTHER_OPERATION;
  }
}

/** The outcome of an answer: its first error's code, or OK. */
export function codeOf(errors: readonly GraphQLFormattedError[] | undefined): string {
  if (errors === undefined || errors.length === 0) return OK;
  const code = errors[0]?.extensions?.code;
  return typeof code === 'string' ? code : OTHER_CODE;
}

const STARTED: unique symbol = Symbol('request started');

/** What the HTTP transport carries along for timing (a response, a GraphQL context): when the request arrived. */
export interface Timed {
  [STARTED]?: number | undefined;
}

const secondsSince = (started: number | undefined): number => (started === undefined ? 0 : (performance.now() - started) / 1000);

/** Seconds since the request of this response arrived (0 when it was not timed). */
export const elapsedSeconds = (response: ServerResponse): number => secondsSince((response as Timed)[STARTED]);

/** The key under which a GraphQL context carries its request's arrival: `{ ...context, [ARRIVED]: arrivalOf(response) }`. */
export const ARRIVED = STARTED;

/** When the request of this response arrived (performance.now()), if it was timed. */
export const arrivalOf = (response: ServerResponse): number | undefined => (response as Timed)[STARTED];

function routeOf(url: string): HttpRoute {
  const end = url.indexOf('?');
  const path = end === -1 ? url : url.slice(0, end);
  if (path === '/graphql') return 'graphql';
  if (path.startsWith('/graphql/')) return 'explorer';
  if (path === '/metrics') return 'metrics';
  if (path === '/healthz') return 'healthz';
  if (path === '/readyz') return 'readyz';
  return 'other';
}

/** Starts timing a response from now (its request's arrival) to its last byte written: call it first. */
export function responseTimer(observer: HttpObserver): (response: ServerResponse) => void {
  // One function for every response (`this` is the response): nothing is created per request.
  function finished(this: ServerResponse & Timed & { req: { originalUrl?: string; url?: string } }) {
    observer.request(routeOf(this.req.originalUrl ?? this.req.url ?? ''), this.statusCode, secondsSince(this[STARTED]));
  }
  return (response) => {
    (response as Timed)[STARTED] = performance.now();
    response.on('finish', finished);
  };
}

const DONE = Promise.resolve();

/**
 * An Apollo plugin that reports each operation once its response is ready. Its listener is one object shared by
 * every request, and the request's arrival time comes in its context (under `ARRIVED`).
 */
export function operationPlugin<TContext extends BaseContext & Timed>(observer: OperationObserver): ApolloServerPlugin<TContext> {
  const listener: GraphQLRequestListener<TContext> = {
    willSendResponse({ contextValue, operation, response }) {
      const { body } = response;
      const errors = body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors;
      observer.operation('http', rootField(operation), codeOf(errors), secondsSince(contextValue[STARTED]));
      return DONE;
    },
  };
  const listening = Promise.resolve(listener);
  return { requestDidStart: () => listening };
}

/**
 * Times each operation of a connection (a graphql-ws socket, an SSE stream) from its request to its first answer: its
 * result (a query or mutation), the start of its stream (a subscription), or its refusal. Keyed by connection and
 * operation id.
 */
export class PendingOperations {
  readonly #observer: OperationObserver;
  readonly #transport: Transport;
  readonly #pending = new WeakMap<object, Map<string, { operation: string; readonly startedAt: number }>>();

  constructor(observer: OperationObserver, transport: Transport) {
    this.#observer = observer;
    this.#transport = transport;
  }

  begin(socket: object, id: string): void {
    let operations = this.#pending.get(socket);
    if (!operations) {
      operations = new Map();
      this.#pending.set(socket, operations);
    }
    operations.set(id, { operation: OTHER_OPERATION, startedAt: performance.now() });
  }

  /** The operation is known (parsed). */
  name(socket: object, id: string, operation: string): void {
    const pending = this.#pending.get(socket)?.get(id);
    if (pending) pending.operation = operation;
  }

  /** Answered with this outcome; nothing if it was already. */
  end(socket: object, id: string, code: string): void {
    const operations = this.#pending.get(socket);
    const pending = operations?.get(id);
    if (!pending) return;
    operations?.delete(id);
    this.#observer.operation(this.#transport, pending.operation, code, secondsSince(pending.startedAt));
  }

  /** Ended without an answer the client saw (its socket was closing). */
  drop(socket: object, id: string): void {
    this.#pending.get(socket)?.delete(id);
  }
}
