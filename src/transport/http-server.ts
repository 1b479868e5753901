import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestListener } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import express, { type ErrorRequestHandler, type Router } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { Caller } from '../domain/caller.js';
import { AppError, isAppError } from '../errors.js';
import type { GatewayServices, GraphQLContext } from '../graphql/context.js';
import type { ErrorFormatter } from '../graphql/format-error.js';
import type { Logger } from '../logger.js';
import type { OperationPolicy } from '../operations/operation-limits.js';
import { serveGraphQL } from './apollo-http.js';
import { answerIfDraining, type DrainState, drainGuard } from './drain.js';
import { isPlainJson, readJsonBody } from './json-body.js';
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
import { assignRequestIdTo, requestIdFrom } from './request-id.js';
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
  /** Mounted before GraphQL: health, metrics, the explorer. */
  routes: Router[];
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

/** The path of GraphQL over HTTP, with or without a query string. */
const isGraphQLPath = (url: string | undefined): boolean => url === '/graphql' || url?.startsWith('/graphql?') === true;

/** The HTTP status (and Retry-After) of an error raised before any resolver ran. */
function httpHeadOf(error: AppError): { status: number; headers?: Map<string, string> } {
  if (error.code === 'QUERY_TOO_COMPLEX') return { status: 400 };
  if (error.code !== 'RATE_LIMITED') return { status: 401 };
  return { status: 429, headers: new Map([['retry-after', String(error.details.retryAfterSeconds)]]) };
}

/**
 * Errors raised before GraphQL runs (reading the body, mostly), answered in GraphQL's error shape with a contract
 * code instead of Express's HTML page: an oversized body is QUERY_TOO_COMPLEX, an unreadable one GRAPHQL_PARSE_FAILED.
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

/** Apollo Server on a plain node:http server the websocket server can share; Express for every route but GraphQL's POSTs. */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const app = express();
  app.disable('x-powered-by');
  // A GraphQL answer is never revalidated: hashing every body for an ETag was CPU for nothing.
  app.set('etag', false);
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
      const { status, headers } = httpHeadOf(error);
      for (const [name, value] of headers ?? []) response.setHeader(name, value);
      sendJson(response, status, { errors: [{ message: error.message, extensions: { code: error.code, ...error.details } }] });
      return undefined;
    }
  };

  /**
   * POST /graphql with a plain JSON body (every mutation a client sends) is served on node:http directly: through
   * Express 5 and its body parser, the no-op mutation's CPU per call is twice what it is without them (the bench's
   * two no-op baselines). Other requests, and POSTs with a charset to convert or a compressed body, go through Express.
   */
  const servePlainPost = async (request: IncomingMessage, response: ServerResponse) => {
    timeResponse(response);
    if (options.drain && answerIfDraining(options.drain, request, response)) return;
    beginGraphQL(request, response);
    let body: unknown;
    try {
      body = await readJsonBody(request, MAX_BODY_BYTES);
    } catch (error) {
      return answerRequestError(error, response, options.logger);
    }
    const fields = (body ?? {}) as { query?: unknown; operationName?: unknown };
    const context = await prepare(request, response, fields);
    if (context) await serveGraphQL(apollo, request, response, body, async () => context);
  };
  /** GET or POST /graphql asking for `text/event-stream`: the SSE transport, after the same drain and request id. */
  const serveEventStream = async (sse: SseServer, request: IncomingMessage, response: ServerResponse) => {
    timeResponse(response);
    if (options.drain && answerIfDraining(options.drain, request, response)) return;
    beginGraphQL(request, response);
    let body: unknown;
    if (request.method === 'POST') {
      try {
        body = await readJsonBody(request, MAX_BODY_BYTES);
      } catch (error) {
        return answerRequestError(error, response, options.logger);
      }
    }
    await sse.serve(request, response, body);
  };
  const servedEventStream = (request: IncomingMessage, response: ServerResponse): boolean => {
    const { sse } = options;
    if (!sse || (request.method !== 'GET' && request.method !== 'POST') || !isGraphQLPath(request.url) || !wantsEventStream(request)) {
      return false;
    }
    serveEventStream(sse, request, response).catch((error: unknown) => {
      if (response.headersSent) return response.destroy();
      answerRequestError(error, response, options.logger);
    });
    return true;
  };

  const servedPlainPost = (request: IncomingMessage, response: ServerResponse): boolean => {
    if (request.method !== 'POST' || !isGraphQLPath(request.url) || !isPlainJson(request)) return false;
    servePlainPost(request, response).catch((error: unknown) => {
      if (response.headersSent) return response.destroy();
      answerRequestError(error, response, options.logger);
    });
    return true;
  };

  app.use((_request, response, next) => {
    timeResponse(response);
    next();
  });
  if (options.drain) app.use(drainGuard(options.drain));
  for (const route of options.routes) app.use(route);
  app.use(
    '/graphql',
    (request, response, next) => {
      beginGraphQL(request, response);
      next();
    },
    express.json({ limit: MAX_BODY_BYTES }),
    (request, response, next) => {
      const fields = { ...(request.query as object), ...(request.body as object) };
      prepare(request, response, fields)
        .then((context) => context && serveGraphQL(apollo, request, response, request.body, async () => context))
        .catch(next);
    },
  );
  const expressErrors: ErrorRequestHandler = (error: unknown, _request, response, next) => {
    if (response.headersSent) return next(error);
    answerRequestError(error, response, options.logger);
  };
  app.use(expressErrors);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (!servedEventStream(request, response) && !servedPlainPost(request, response)) app(request, response);
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
