import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestListener } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import type { GraphQLSchema } from 'graphql';
import type { Caller } from '../domain/caller.js';
import { AppError, isAppError } from '../errors.js';
import type { GatewayServices, GraphQLContext } from '../graphql/context.js';
import type { ErrorFormatter } from '../graphql/format-error.js';
import type { Logger } from '../logger.js';
import type { OperationPolicy } from '../operations/operation-limits.js';
import { serveGraphQL } from './apollo-http.js';
import { answerIfDraining, type DrainState } from './drain.js';
import { sendRefusal } from './http-status.js';
import {
  ARRIVED,
  arrivalOf,
  elapsedSeconds,
  type HttpObserver,
  operationPlugin,
  responseTimer,
  rootFieldOfText,
  type Timed,
} from './operation-metrics.js';
import { readRequestBody } from './request-body.js';
import { assignRequestIdTo, requestIdFrom } from './request-id.js';
import { pathOf, type Route, routeFor, sendText } from './routes.js';
import { sendJson } from './send-json.js';
import { type SseServer, wantsEventStream } from './sse-server.js';

export interface HttpServerOptions {
  schema: GraphQLSchema;
  services: GatewayServices;
  authenticate: (authorization: unknown) => Promise<Caller | null>;
  /** Counts one operation of the caller; throws RATE_LIMITED when it is over its rate. */
  admit: (caller: Caller) => void;
  formatError: ErrorFormatter;
  /** Parse options, limits and rules every document is held to (shared with the websocket transport). */
  operations: OperationPolicy;
  /** Tried before GraphQL, in order: health, metrics, the explorer. */
  routes: Route[];
  /** Where the gateway stands on its way out: answered before every route, GraphQL's POSTs included. */
  drain?: DrainState;
  logger: Logger;
  /** On stop, how long in-flight requests may take before their connections are closed. @default 10000 */
  stopGraceMs?: number;
  /** Told of every request and GraphQL operation (metrics). */
  observer?: HttpObserver;
  /** GraphQL over SSE on the same path, for requests that accept `text/event-stream`. */
  sse?: SseServer;
}

export interface HttpServer {
  readonly server: Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish, then stops Apollo. */
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 256 * 1024;

/** Query texts that passed the screen are remembered (as on websockets), so a repeated one is not parsed twice. */
const SCREENED_REMEMBERED = 500;
const SCREENED_MAX_LENGTH = 8192;

/** Every document needs a caller: one without is refused before its text is parsed. */
const ANONYMOUS_MESSAGE = 'send an access token (Authorization: Bearer <JWT>): this gateway answers only authenticated callers';

/**
 * Errors raised before GraphQL runs (reading the body, mostly), answered in GraphQL's error shape with a contract
 * code: an oversized body is QUERY_TOO_COMPLEX, an unreadable one (or one in a charset or encoding we do not read)
 * GRAPHQL_PARSE_FAILED.
 */
function answerRequestError(error: unknown, response: ServerResponse, logger: Logger): void {
  const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown };
  const reply = (httpStatus: number, code: string, message: string, extra: Record<string, string> = {}) =>
    sendJson(response, httpStatus, { errors: [{ message, extensions: { code, ...extra } }] });
  if (type === 'entity.too.large') {
    // The rest of the body is not read: the connection cannot carry another request.
    response.setHeader('connection', 'close');
    reply(413, 'QUERY_TOO_COMPLEX', `the request body is over the ${MAX_BODY_BYTES / 1024} KiB limit`);
    return;
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    reply(status, 'GRAPHQL_PARSE_FAILED', 'the request body could not be read as JSON: send a GraphQL request object');
    return;
  }
  const correlationId = randomUUID();
  logger.error({ err: error, correlationId, requestId: requestIdFrom(response) }, 'internal error while reading a request');
  reply(500, 'INTERNAL_SERVER_ERROR', `internal error (correlation id ${correlationId})`, { correlationId });
}

/** One line per request, at debug level (LOG_LEVEL=debug): at info, nothing is added to each request's path. */
function finishedLogger(logger: Logger): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    const begun = performance.now();
    response.once('finish', () =>
      logger.debug(
        {
          requestId: requestIdFrom(response),
          method: request.method,
          status: response.statusCode,
          ms: Math.round(performance.now() - begun),
        },
        'request finished',
      ),
    );
  };
}

/**
 * One HTTP stack for every route: a node:http server (which the websocket server shares) whose requests go through
 * the same drain, timing and request ids, then to the first route that matches: health, metrics, the explorer, GraphQL
 * over SSE, and GraphQL over HTTP (Apollo).
 */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const server = createServer();
  const { observer } = options;
  // Apollo formats errors without the request's context: internal ones are logged here first, with its requestId.
  const errorListener: GraphQLRequestListener<GraphQLContext> = {
    didEncounterErrors: async ({ contextValue, errors }) => options.formatError.logInternal(errors, contextValue.logger),
  };
  const logInternalErrors: ApolloServerPlugin<GraphQLContext> = { requestDidStart: async () => errorListener };
  const apollo = new ApolloServer<GraphQLContext & Timed>({
    schema: options.schema,
    // Introspection is refused by our own rule, which names the setting; Apollo's would name Apollo's option.
    introspection: true,
    // The transport screens each document first (contextOf); these hold whatever reaches Apollo's parse anyway.
    parseOptions: options.operations.parseOptions,
    validationRules: [...options.operations.validationRules],
    validationOptions: options.operations.validationOptions,
    hideSchemaDetailsFromClientErrors: options.operations.validationOptions.hideSuggestions,
    formatError: options.formatError,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT and stops everything in order. Apollo's own handler (on unless NODE_ENV=test)
    // raced it: with Kafka unreachable, shutdown hung until the forced exit (process-shutdown.test.ts).
    stopOnTerminationSignals: false,
    // A request carrying Authorization cannot be a simple cross-site request, and every operation but
    // introspection needs it: so GET queries with a token work without Apollo's preflight header.
    csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    // The schema has no @cacheControl hints: Apollo's default cache-control plugin wrapped every field's resolver
    // only to answer `no-store`, which beginGraphQL below sends instead.
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server, stopGracePeriodMillis: options.stopGraceMs ?? 10_000 }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ...(observer ? [operationPlugin<GraphQLContext & Timed>(observer)] : []),
      logInternalErrors,
    ],
  });
  await apollo.start();

  const timeResponse = observer ? responseTimer(observer) : () => {};
  const logFinished = options.logger.isLevelEnabled('debug') ? finishedLogger(options.logger) : () => {};
  /** What every GraphQL request over HTTP gets before its body is read. */
  const beginGraphQL = (request: IncomingMessage, response: ServerResponse) => {
    assignRequestIdTo(request, response);
    logFinished(request, response);
    response.setHeader('cache-control', 'no-store');
  };

  const screened = new Set<string>();
  /**
   * Refuses a document over the limits before Apollo parses and validates it: graphql-js's own validation is
   * quadratic in repeated fields, so the limits must be known to hold first. Syntax errors are left to Apollo.
   */
  const screen = (query: unknown) => {
    if (typeof query !== 'string' || screened.has(query)) return;
    const result = options.operations.screen(query);
    if ('errors' in result) {
      const refusal = result.errors.find((error) => error.extensions.code === 'QUERY_TOO_COMPLEX');
      if (refusal) throw new AppError('QUERY_TOO_COMPLEX', refusal.message);
      return;
    }
    if (query.length > SCREENED_MAX_LENGTH) return;
    if (screened.size >= SCREENED_REMEMBERED) screened.delete(screened.values().next().value as string);
    screened.add(query);
  };

  /**
   * Authenticates, admits and screens a request before Apollo sees it (Apollo's CSRF check and parse come after):
   * a refusal is answered here, cheaply, and undefined returned; otherwise the operation's context.
   */
  const prepare = async (
    request: IncomingMessage,
    response: ServerResponse,
    fields: { query?: unknown; operationName?: unknown },
  ): Promise<(GraphQLContext & Timed) | undefined> => {
    try {
      const caller = await options.authenticate(request.headers.authorization);
      if (!caller) throw new AppError('UNAUTHENTICATED', ANONYMOUS_MESSAGE);
      options.admit(caller);
      screen(fields.query);
      const requestId = requestIdFrom(response);
      let requestLogger: Logger | undefined;
      return {
        caller,
        ...options.services,
        [ARRIVED]: arrivalOf(response),
        // Made on first use: most requests never log.
        get logger() {
          requestLogger ??= options.logger.child({ requestId });
          return requestLogger;
        },
      };
    } catch (error) {
      if (!isAppError(error)) throw error;
      // Refused before Apollo's pipeline, which its plugins never see.
      observer?.operation('http', rootFieldOfText(fields.query, fields.operationName), error.code, elapsedSeconds(response));
      sendRefusal(response, [{ message: error.message, extensions: { code: error.code, ...error.details } }]);
      return undefined;
    }
  };

  /** What every GraphQL request gets first, and a POST's body; undefined when reading it failed (then answered). */
  const beginWithBody = async (request: IncomingMessage, response: ServerResponse): Promise<{ body: unknown } | undefined> => {
    beginGraphQL(request, response);
    if (request.method !== 'POST') return { body: undefined };
    try {
      return { body: await readRequestBody(request, MAX_BODY_BYTES) };
    } catch (error) {
      answerRequestError(error, response, options.logger);
      return undefined;
    }
  };

  /** GET or POST /graphql asking for `text/event-stream`: the SSE transport. */
  const eventStreamRoute = (sse: SseServer): Route => ({
    matches: (request, path) => (request.method === 'GET' || request.method === 'POST') && path === '/graphql' && wantsEventStream(request),
    handle: async (request, response) => {
      const read = await beginWithBody(request, response);
      if (read) await sse.serve(request, response, read.body);
    },
  });

  /** Any other request to /graphql: GraphQL over HTTP through Apollo, once authenticated, admitted and screened. */
  const graphqlRoute: Route = {
    matches: (_request, path) => path === '/graphql',
    handle: async (request, response) => {
      const read = await beginWithBody(request, response);
      if (!read) return;
      const { body } = read;
      // A POST is answered from its body alone; a GET from its query string.
      const fields =
        request.method === 'POST'
          ? ((body ?? {}) as { query?: unknown; operationName?: unknown })
          : Object.fromEntries(new URL(request.url ?? '/', 'http://gateway').searchParams);
      const context = await prepare(request, response, fields);
      if (context) await serveGraphQL(apollo, request, response, body, async () => context);
    },
  };

  const routes = [...options.routes, ...(options.sse ? [eventStreamRoute(options.sse)] : []), graphqlRoute];
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    timeResponse(response);
    if (options.drain && answerIfDraining(options.drain, request, response)) return;
    const route = routeFor(routes, request);
    if (!route) {
      sendText(response, 404, `Not found: ${request.method ?? 'GET'} ${pathOf(request.url)}\n`);
      return;
    }
    Promise.resolve(route.handle(request, response)).catch((error: unknown) => {
      if (response.headersSent) return response.destroy();
      answerRequestError(error, response, options.logger);
    });
  });

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        const fail = (error: NodeJS.ErrnoException) =>
          reject(
            error.code === 'EADDRINUSE'
              ? new Error(`${host}:${port} is already in use: stop the process that holds it, or set PORT to a free port`)
              : error,
          );
        server.once('error', fail);
        server.listen(port, host, () => {
          server.off('error', fail);
          resolve(server.address() as AddressInfo);
        });
      }),
    stop: () => apollo.stop(),
  };
}
