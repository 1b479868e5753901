import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Router } from 'express';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import type { Caller } from '../domain/caller.js';
import { isAppError } from '../errors.js';
import type { GatewayServices, GraphQLContext } from '../graphql/context.js';
import type { ErrorFormatter } from '../graphql/format-error.js';

export interface HttpServerOptions {
  schema: GraphQLSchema;
  services: GatewayServices;
  authenticate: (authorization: unknown) => Promise<Caller | null>;
  formatError: ErrorFormatter;
  introspection: boolean;
  /** Mounted before GraphQL: health, metrics, the explorer. */
  routes: Router[];
}

export interface HttpServer {
  readonly server: Server;
  listen(port: number, host: string): Promise<AddressInfo>;
  /** Stops accepting, lets in-flight requests finish, then stops Apollo. */
  stop(): Promise<void>;
}

/** Apollo Server through its Express integration, on a plain node:http server the websocket server can share. */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const app = express();
  app.disable('x-powered-by');
  const server = createServer(app);
  const apollo = new ApolloServer<GraphQLContext>({
    schema: options.schema,
    introspection: options.introspection,
    formatError: options.formatError,
    includeStacktraceInErrorResponses: false,
    // main.ts owns SIGTERM/SIGINT and stops everything in order. Apollo's own handler (on unless NODE_ENV=test)
    // raced it: with Kafka unreachable, shutdown hung until the forced exit (process-shutdown.test.ts).
    stopOnTerminationSignals: false,
    // A request carrying Authorization cannot be a simple cross-site request, and every operation but
    // introspection needs it: so GET queries with a token work without Apollo's preflight header.
    csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer: server }), ApolloServerPluginLandingPageDisabled()],
  });
  await apollo.start();

  for (const route of options.routes) app.use(route);
  app.use(
    '/graphql',
    express.json({ limit: '256kb' }),
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        try {
          return { caller: await options.authenticate(req.headers.authorization), ...options.services };
        } catch (error) {
          if (!isAppError(error)) throw error;
          throw new GraphQLError(error.message, { extensions: { code: error.code, http: { status: 401 } } });
        }
      },
    }),
  );

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve(server.address() as AddressInfo);
        });
      }),
    stop: () => apollo.stop(),
  };
}
