import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  specifiedRules,
  validate,
} from 'graphql';
import { useServer as serveGraphqlWs } from 'graphql-ws/use/ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { Caller } from '../domain/caller.js';
import { AppError, isAppError } from '../errors.js';
import type { GatewayServices, GraphQLContext } from '../graphql/context.js';
import { type ErrorFormatter, formatGraphQLErrors } from '../graphql/format-error.js';
import type { Logger } from '../logger.js';
import type { OperationPolicy } from '../operations/operation-limits.js';
import { REFUSED_UPGRADE, SHUTTING_DOWN_MESSAGE } from './drain.js';
import { codeOf, OK, rootField, rootFieldOfText, type WebSocketObserver, WebSocketOperations } from './operation-metrics.js';
import { type SharedExecutionOptions, sharedSubscribe } from './shared-execution.js';
import { SubscriptionLimits, type SubscriptionLimitsOptions } from './subscription-limits.js';
import { shedAwaitingInit } from './websocket-init-guard.js';
import { startWebSocketKeepAlive } from './websocket-keepalive.js';

export interface WebSocketServerOptions {
  httpServer: Server;
  path: string;
  schema: GraphQLSchema;
  /** Parse options, limits and rules every document is held to, as on HTTP. */
  operations: OperationPolicy;
  /** How long a socket may take to send `connection_init`. */
  initTimeoutMs: number;
  /** Sockets that may await `connection_init` at once; the oldest waiting is closed to make room for a new one. */
  maxAwaitingInit: number;
  services: GatewayServices;
  authenticate: (authorization: unknown) => Promise<Caller | null>;
  /** Counts one operation of the caller; throws RATE_LIMITED when it is over its rate. */
  admit: (caller: Caller) => void;
  formatError: ErrorFormatter;
  logger: Logger;
  /** Subscriptions per socket and per caller; 0 for no limit. */
  subscriptionLimits: SubscriptionLimitsOptions;
  /** Ping interval; a socket that missed a ping by the next one is terminated. 0 turns it off. */
  keepAliveMs: number;
  /** False while the gateway drains: upgrades are answered 503 (see drain.ts). @default always true */
  accepting?: () => boolean;
  /** Told of every operation and of sockets closed for not answering pings (metrics). */
  observer?: WebSocketObserver;
  /** Which subscription events are the same for many subscriptions, so each is executed once per distinct operation. */
  sharing?: SharedExecutionOptions;
}

const refusal = (error: unknown): GraphQLError[] => {
  if (!isAppError(error)) throw error;
  return [new GraphQLError(error.message, { originalError: error, extensions: { code: error.code } })];
};

/** The error with a contract code: its own (QUERY_TOO_COMPLEX from our rules) or `fallback`. */
function withCode(error: unknown, fallback: 'GRAPHQL_PARSE_FAILED' | 'GRAPHQL_VALIDATION_FAILED'): GraphQLError {
  const graphqlError = error instanceof GraphQLError ? error : new GraphQLError(String(error));
  return new GraphQLError(graphqlError.message, {
    ...(graphqlError.nodes && { nodes: graphqlError.nodes }),
    extensions: { ...graphqlError.extensions, code: graphqlError.extensions.code ?? fallback },
  });
}

/** Distinct valid documents remembered: thousands of clients subscribe with the same few queries. */
const VALID_DOCUMENTS_REMEMBERED = 500;
/** Longer query texts are not remembered, so the cache stays a few MiB whatever clients send. */
const REMEMBERED_QUERY_MAX_LENGTH = 8192;

/** The id of a graphql-ws `complete` message; undefined for any other message. */
function completedId(data: Buffer): string | undefined {
  if (data.length > 512 || !data.includes('"complete"')) return undefined;
  try {
    const message: unknown = JSON.parse(data.toString());
    const { type, id } = (message ?? {}) as { type?: unknown; id?: unknown };
    return type === 'complete' && typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** graphql-ws (`graphql-transport-ws`) on the HTTP server's port and path, authenticated at connection_init. */
export function startWebSocketServer(options: WebSocketServerOptions): {
  close(): Promise<void>;
  connectionCount(): number;
  /** Operations graphql-ws still runs on open sockets (0 once every subscription was completed to its client). */
  openOperations(): number;
} {
  const { httpServer, path, schema, operations: policy, services, authenticate, admit, formatError, logger, observer } = options;
  const operations = observer && new WebSocketOperations(observer);
  const accepting = options.accepting ?? (() => true);
  const limits = new SubscriptionLimits<object>(options.subscriptionLimits);
  const rules = [...specifiedRules, ...policy.validationRules];
  // Parsed and validated once per query text (schema and rules never change): a join then skips both.
  const validDocuments = new Map<string, DocumentNode>();
  // Upgrades are routed by hand rather than `{ server }`: ws would re-emit the HTTP server's own errors (a port in
  // use, say), and graphql-ws answers those with a console.error that hides the real cause.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Compared as text: parsing a hostile request line as a URL can throw, and nothing above this listener catches.
    if ((request.url ?? '').split('?')[0] !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!accepting()) {
      socket.end(REFUSED_UPGRADE);
      return;
    }
    wss.handleUpgrade(request, socket, head, (client) => wss.emit('connection', client, request));
  };
  httpServer.on('upgrade', upgrade);
  const stopShedding = shedAwaitingInit(wss, { max: options.maxAwaitingInit, timeoutMs: options.initTimeoutMs });
  const stopKeepAlive = startWebSocketKeepAlive(wss, options.keepAliveMs, () => {
    logger.info('closing a websocket whose peer stopped answering pings');
    observer?.unresponsiveClosed();
  });
  const callers = new WeakMap<object, Caller>();
  const contexts = new Set<{ readonly subscriptions: Record<string, unknown> }>();
  const expiryTimers = new WeakMap<object, NodeJS.Timeout>();
  // Every line about a socket carries its connectionId; about one of its operations, the operationId too.
  const connectionLoggers = new WeakMap<object, Logger>();
  const loggerOf = (ctx: object): Logger => {
    let connectionLogger = connectionLoggers.get(ctx);
    if (!connectionLogger) {
      connectionLogger = logger.child({ connectionId: randomUUID() });
      connectionLoggers.set(ctx, connectionLogger);
    }
    return connectionLogger;
  };
  const operationLogger = (ctx: object, id: string) => loggerOf(ctx).child({ operationId: id });

  const disposable = serveGraphqlWs<Record<string, unknown> | undefined, { caller?: Caller }>(
    {
      schema,
      ...(options.sharing && { subscribe: sharedSubscribe(options.sharing) }),
      connectionInitWaitTimeout: options.initTimeoutMs,
      context: (ctx, id): GraphQLContext => ({ caller: callers.get(ctx) ?? null, ...services, logger: operationLogger(ctx, id) }),
      // graphql-ws would let a syntax error escape and close the whole socket with 4500, and sends validation
      // errors without a code: parse and validate here, so each refusal ends only its own operation, with a code.
      // Refusals returned here reach onError, which reports them to `operations` with their code.
      onSubscribe: (ctx, id, payload) => {
        const caller = callers.get(ctx);
        operations?.begin(ctx, id);
        try {
          // A client that resubscribes on the socket after its subscription was completed at shutdown.
          if (!accepting()) throw new AppError('SHUTTING_DOWN', SHUTTING_DOWN_MESSAGE);
          if (caller) admit(caller);
        } catch (error) {
          operations?.name(ctx, id, rootFieldOfText(payload.query, payload.operationName));
          return refusal(error);
        }
        let document = validDocuments.get(payload.query);
        const remembered = document !== undefined;
        if (!document) {
          // Within the token limit, and refused over the other limits before GraphQL's own (costlier) validation.
          const screened = policy.screen(payload.query);
          if ('errors' in screened) return [...screened.errors];
          document = screened.document;
        }
        operations?.name(ctx, id, rootField(getOperationAST(document, payload.operationName)));
        if (!remembered) {
          const errors = validate(schema, document, rules, policy.validationOptions);
          if (errors.length > 0) return errors.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED'));
          if (payload.query.length <= REMEMBERED_QUERY_MAX_LENGTH) {
            if (validDocuments.size >= VALID_DOCUMENTS_REMEMBERED) validDocuments.delete(validDocuments.keys().next().value as string);
            validDocuments.set(payload.query, document);
          }
        }
        if (caller && getOperationAST(document, payload.operationName)?.operation === 'subscription') {
          try {
            limits.admit(ctx, caller.sub, id);
          } catch (error) {
            return refusal(error);
          }
        }
        return { schema, document, variableValues: payload.variables ?? null, operationName: payload.operationName ?? null };
      },
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        try {
          const caller = await authenticate(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
          // Closed while the token was checked: onClose already ran, and an expiry timer set now would never be cleared.
          if (socket.readyState !== WebSocket.OPEN) return false;
          if (!caller) {
            socket.close(4401, 'Unauthorized: send {"authorization": "Bearer <JWT>"} in connection_init');
            return false;
          }
          callers.set(ctx, caller);
          contexts.add(ctx);
          loggerOf(ctx).info({ sub: caller.sub }, 'websocket connection opened');
          // A client's complete frees its place at once, not when the subscription's clean-up has finished, so a
          // client that completes one and subscribes again is not refused in between.
          socket.on('message', (data: Buffer) => {
            const id = completedId(data);
            if (id !== undefined) limits.release(ctx, id);
          });
          socket.once('close', () => limits.releaseAll(ctx));
          // A subscription must not outlive the token that allowed it.
          const remaining = caller.expiresAt.getTime() - Date.now();
          expiryTimers.set(
            ctx,
            setTimeout(() => socket.close(4401, 'Unauthorized: the access token expired'), Math.min(remaining, 2 ** 31 - 1)),
          );
          return true;
        } catch (error) {
          if (!isAppError(error)) loggerOf(ctx).error({ err: error }, 'websocket authentication failed unexpectedly');
          socket.close(4401, `Unauthorized: ${isAppError(error) ? error.message : 'invalid token'}`);
          return false;
        }
      },
      // A subscription's stream began, or a query or mutation answered without errors (with errors, onNext reports
      // it once they are formatted). graphql-ws has awaited the result; a stream has no `errors`.
      onOperation: (ctx, id, _payload, _args, result) => {
        if (!(result as ExecutionResult).errors?.length) operations?.end(ctx, id, OK);
      },
      onComplete: (ctx, id) => {
        limits.release(ctx, id);
        operations?.drop(ctx, id);
      },
      onClose: (ctx, code) => {
        if (contexts.delete(ctx)) loggerOf(ctx).info({ code }, 'websocket connection closed');
        clearTimeout(expiryTimers.get(ctx));
        limits.releaseAll(ctx);
      },
      onNext: (ctx, id, _payload, _args, result) => {
        // graphql-ws silently drops a message for a socket that is closing and reports it sent; the source would then
        // commit an event the client never got. Throwing here ends the subscription before that event is acknowledged.
        if (ctx.extra.socket.readyState !== WebSocket.OPEN) throw new Error('the socket is closing');
        if (!result.errors) return undefined;
        const errors = formatGraphQLErrors(formatError, result.errors, operationLogger(ctx, id));
        operations?.end(ctx, id, codeOf(errors));
        return { ...result, errors: errors as never };
      },
      // Errors for a socket that is closing are never sent: not formatting them keeps them out of the error log.
      onError: (ctx, id, _payload, errors) => {
        if (ctx.extra.socket.readyState !== WebSocket.OPEN) {
          operations?.drop(ctx, id);
          return [new GraphQLError('the socket is closing')];
        }
        const formatted = formatGraphQLErrors(formatError, errors, operationLogger(ctx, id));
        operations?.end(ctx, id, codeOf(formatted));
        return formatted as never;
      },
    },
    wss,
  );

  return {
    async close() {
      httpServer.off('upgrade', upgrade);
      stopKeepAlive();
      stopShedding();
      // Closes every socket with 1001, which returns() each subscription's generator.
      await disposable.dispose();
    },
    connectionCount: () => wss.clients.size,
    openOperations: () => [...contexts].reduce((sum, ctx) => sum + Object.keys(ctx.subscriptions).length, 0),
  };
}
