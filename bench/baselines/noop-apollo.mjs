// The floor of the stack: Apollo Server 5 + Express 5 on node:http with the gateway's schema and options, and a
// placeOrder resolver that returns a constant order (no token, no database, no Kafka); Express and Apollo options as
// the gateway sets them (no ETag, Apollo's cache-control plugin off, `cache-control: no-store`). Plain JavaScript run by
// node, like the built gateway. Logs the gateway's "listening" line so the suite starts it the same way.
// NOOP_HTTP=node serves the POSTs as the gateway does, without Express: its own built body reader and Apollo adapter.
// Express and its Apollo integration are dev dependencies for this baseline only; the gateway has no web framework.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import express from 'express';

const now = new Date().toISOString();
const order = (input) => ({
  id: '00000000-0000-4000-8000-000000000000',
  accountId: input.accountId,
  amount: input.amount,
  currency: input.currency,
  product: input.product,
  reference: input.reference ?? null,
  status: 'SETTLED',
  balanceAfter: '0',
  idempotencyKey: input.idempotencyKey,
  createdAt: now,
  settledAt: now,
});

const schema = makeExecutableSchema({
  typeDefs: readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'),
  resolvers: { Mutation: { placeOrder: (_, { input }) => order(input) } },
});
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
const server = createServer();
const apollo = new ApolloServer({
  schema,
  introspection: true,
  includeStacktraceInErrorResponses: false,
  stopOnTerminationSignals: false,
  csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
  plugins: [
    ApolloServerPluginDrainHttpServer({ httpServer: server }),
    ApolloServerPluginLandingPageDisabled(),
    ApolloServerPluginCacheControlDisabled(),
  ],
});
await apollo.start();
const noStore = (_req, res, next) => {
  res.setHeader('cache-control', 'no-store');
  next();
};
app.post('/graphql', noStore, express.json({ limit: '256kb' }), expressMiddleware(apollo, { context: async () => ({}) }));
if (process.env.NOOP_HTTP === 'node') {
  const { serveGraphQL } = await import('../../dist/transport/apollo-http.js');
  const { readRequestBody } = await import('../../dist/transport/request-body.js');
  server.on('request', (request, response) => {
    if (request.method !== 'POST' || request.url !== '/graphql') return app(request, response);
    response.setHeader('cache-control', 'no-store');
    readRequestBody(request, 256 * 1024)
      .then((body) => serveGraphQL(apollo, request, response, body, async () => ({})))
      .catch(() => response.destroy());
  });
} else server.on('request', app);
server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ msg: 'gateway is listening', port: server.address().port })}\n`);
});
process.once('SIGTERM', () => {
  apollo.stop().then(() => process.exit(0));
});
