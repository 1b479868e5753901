import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerPlugin, type GraphQLRequestListener } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type RequestHandler, type Router } from 'express';
import { GraphQLError, type GraphQLSchema, type ValidationRule } from 'graphql';
import type { Caller } from '../domain/caller.js';
import { type AppError, isAppError } from '../errors.js';
import type { GatewayServices, GraphQLContext } from '../graphql/context.js';
import type { ErrorFormatter } from '../graphql/format-error.js';
import type { Logger } from '../logger.js';
import {
  ARRIVED,
  arrivalOf,
  elapsedSeconds,
  type HttpObserver,
  operationPlugin,
  requestTimer,
  rootFieldOfText,
  type Timed,
} from './operation-metrics.js';
import { assignRequestId, requestIdFrom } from './request-id.js';

export interface HttpServerOptions {
  schema: GraphQLSchema;
  services: GatewayServices;
  authenticate: (authorization: unknown) => Promise<Caller | null>;
  /** Counts one operation of the caller; throws RATE_LIMITED when it is over its rate. */
  admit: (caller: Caller) => void;
  formatError: ErrorFormatter;
  /** Added to GraphQL's own: operation limits, and introspection off with the explorer. */
  validationRules: ValidationRule[];
  /** Mounted before GraphQL: health, metrics, the explorer. */
  routes: Router[];
  logger: Logger;
  /** On stop, how long in-flight requests may take before their connections are closed. @default 10000 */
  stopGraceMs?: number;
  /** Told of every request and GraphQL operation (metrics). */
  observer?: HttpObserver;
}

export interface HttpServer {
  readonly server: Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish, then stops Apollo. */
  stop(): Promise<void>;
}

const MAX_BODY = '256kb';

/** The HTTP status (and Retry-After) of an error raised before any resolver ran. */
function httpHeadOf(error: AppError): { status: number; headers?: Map<string, string> } {
  if (error.code !== 'RATE_LIMITED') return { status: 401 };
  return { status: 429, headers: new Map([['retry-after', String(error.details.retryAfterSeconds)]]) };
}

/**
 * Errors raised before GraphQL runs (the body parser's, mostly), answered in GraphQL's error shape with a contract
 * code instead of Express's HTML page: an oversized body is QUERY_TOO_COMPLEX, an unreadable one GRAPHQL_PARSE_FAILED.
 */
function requestErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _request, response, next) => {
    if (response.headersSent) return next(error);
    const { status, type } = (error ?? {}) as { status?: unknown; type?: unknown };
    const reply = (httpStatus: number, code: string, message: string, extra: Record<string, string> = {}) =>
      response.status(httpStatus).json({ errors: [{ message, extensions: { code, ...extra } }] });
    if (type === 'entity.too.large') return reply(413, 'QUERY_TOO_COMPLEX', `the request body is over the ${MAX_BODY} limit`);
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return reply(status, 'GRAPHQL_PARSE_FAILED', 'the request body could not be read as JSON: send a GraphQL request object');
    }
    const correlationId = randomUUID();
    logger.error({ err: error, correlationId, requestId: requestIdFrom(response) }, 'internal error while reading a request');
    return reply(500, 'INTERNAL_SERVER_ERROR', `internal error (correlation id ${correlationId})`, { correlationId });
  };
}

/** Apollo Server through its Express integration, on a plain node:http server the websocket server can share. */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const app = express();
  app.disable('x-powered-by');
  // A GraphQL answer is never revalidated: hashing every body for an ETag was CPU for nothing.
  app.set('etag', false);
  const server = createServer(app);
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
    validationRules: options.validationRules,
    formatError: options.formatError,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT and stops everything in order. Apollo's own handler (on unless NODE_ENV=test)
    // raced it: with Kafka unreachable, shutdown hung until the forced exit (process-shutdown.test.ts).
    stopOnTerminationSignals: false,
    // A request carrying Authorization cannot be a simple cross-site request, and every operation but
    // introspection needs it: so GET queries with a token work without Apollo's preflight header.
    csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    // The schema has no @cacheControl hints: Apollo's default cache-control plugin wrapped every field's resolver
    // only to answer `no-store`, which noStore below sends instead.
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server, stopGracePeriodMillis: options.stopGraceMs ?? 10_000 }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ...(observer ? [operationPlugin<GraphQLContext & Timed>(observer)] : []),
      logInternalErrors,
    ],
  });
  await apollo.start();

  const noStore: RequestHandler = (_request, response, next) => {
    response.setHeader('cache-control', 'no-store');
    next();
  };
  // One line per request only at LOG_LEVEL=debug: at info, nothing is added to each request's path.
  const logFinished: RequestHandler[] = options.logger.isLevelEnabled('debug')
    ? [
        (request, response, next) => {
          const begun = performance.now();
          response.once('finish', () =>
            options.logger.debug(
              {
                requestId: requestIdFrom(response),
                method: request.method,
                status: response.statusCode,
                ms: Math.round(performance.now() - begun),
              },
              'request finished',
            ),
          );
          next();
        },
      ]
    : [];
  const graphql = [
    assignRequestId,
    ...logFinished,
    noStore,
    express.json({ limit: MAX_BODY }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        try {
          const caller = await options.authenticate(req.headers.authorization);
          if (caller) options.admit(caller);
          const requestId = requestIdFrom(res);
          let requestLogger: Logger | undefined;
          return {
            caller,
            ...options.services,
            [ARRIVED]: arrivalOf(res),
            // Made on first use: most requests never log.
            get logger() {
              requestLogger ??= options.logger.child({ requestId });
              return requestLogger;
            },
          };
        } catch (error) {
          if (!isAppError(error)) throw error;
          // Refused before Apollo's pipeline, which its plugins never see.
          const { query, operationName } = { ...req.query, ...req.body };
          observer?.operation('http', rootFieldOfText(query, operationName), error.code, elapsedSeconds(res));
          throw new GraphQLError(error.message, { originalError: error, extensions: { code: error.code, http: httpHeadOf(error) } });
        }
      },
    }),
  ];
  if (observer) app.use(requestTimer(observer));
  // POST, every mutation, goes straight to GraphQL: no route below takes a POST, and walking them cost each order.
  app.post('/graphql', graphql);
  for (const route of options.routes) app.use(route);
  app.use('/graphql', graphql);

  app.use(requestErrorHandler(options.logger));

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
