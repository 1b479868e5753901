import { makeExecutableSchema } from '@graphql-tools/schema';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Caller } from '../../src/domain/caller.js';
import { AppError } from '../../src/errors.js';
import type { GatewayServices, GraphQLContext } from '../../src/graphql/context.js';
import { createErrorFormatter } from '../../src/graphql/format-error.js';
import { createOperationPolicy } from '../../src/operations/operation-limits.js';
import { createOperationPipeline, OperationSession, type Preparation } from '../../src/operations/operation-pipeline.js';
import { SubscriptionLimits } from '../../src/operations/subscription-limits.js';

const silent = pino({ level: 'silent' });
const caller = (sub: string, scopes: string[] = []): Caller => ({
  sub,
  scopes: new Set(scopes),
  accounts: new Set(),
  expiresAt: new Date(Date.now() + 60_000),
});

/** A schema whose one subscription leaves a re-check that records the callers it was asked about. */
function pipelineWith(options: { accepting?: () => boolean; admit?: (caller: Caller) => void; perCaller?: number } = {}) {
  const rechecked: string[] = [];
  const contexts: GraphQLContext[] = [];
  const schema = makeExecutableSchema({
    typeDefs: 'type Query { hello: String } type Subscription { ticks: Int }',
    resolvers: {
      Query: { hello: () => 'hi' },
      Subscription: {
        ticks: {
          subscribe: async function* (_: unknown, __: unknown, ctx: GraphQLContext) {
            contexts.push(ctx);
            if (ctx.access) ctx.access.recheck = (next) => void rechecked.push(next.sub + [...next.scopes].join(','));
            yield { ticks: 1 };
          },
        },
      },
    },
  });
  const pipeline = createOperationPipeline({
    schema,
    policy: createOperationPolicy({
      introspection: false,
      limits: { maxDepth: 5, maxCost: 50, maxAliases: 2, maxTokens: 200, maxDirectives: 2, maxRootFields: 3 },
    }),
    services: {} as GatewayServices,
    admit: options.admit ?? (() => {}),
    limits: new SubscriptionLimits<OperationSession>({ perSocket: 0, perCaller: options.perCaller ?? 0 }),
    formatError: createErrorFormatter(silent),
    accepting: options.accepting ?? (() => true),
  });
  return { pipeline, rechecked, contexts };
}

const codes = (prepared: Preparation) => (prepared.ok ? [] : prepared.errors.map((e) => e.extensions.code));

describe('the operation pipeline', () => {
  it('should refuse each kind of bad request with its contract code, before anything runs', () => {
    const { pipeline } = pipelineWith();
    const session = new OperationSession(caller('a'), silent);
    expect(codes(pipeline.prepare(session, '1', {}))).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(codes(pipeline.prepare(session, '2', { query: '{ hello' }))).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(codes(pipeline.prepare(session, '3', { query: '{ nope }' }))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(codes(pipeline.prepare(session, '4', { query: '{ a: hello b: hello c: hello }' }))).toEqual(['QUERY_TOO_COMPLEX']);
    expect(codes(pipeline.prepare(session, '5', { query: '{ hello }', variables: [1] }))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(codes(pipeline.prepare(session, '6', { query: 'query A { hello } query B { hello }' }))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const ok = pipeline.prepare(session, '7', { query: 'query A { hello } query B { hello }', operationName: 'B' });
    expect(ok.ok && [ok.kind, ok.rootField]).toEqual(['query', 'hello']);
  });

  it('should refuse while draining and over the caller rate, naming when to retry', () => {
    let accepting = true;
    const { pipeline } = pipelineWith({
      accepting: () => accepting,
      admit: (who) => {
        if (who.sub === 'busy') throw new AppError('RATE_LIMITED', 'slow down', { details: { retryAfterSeconds: 3 } });
      },
    });
    const busy = pipeline.prepare(new OperationSession(caller('busy'), silent), '1', { query: '{ hello }' });
    expect(busy.ok ? undefined : busy.errors[0]?.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 3 });
    accepting = false;
    expect(codes(pipeline.prepare(new OperationSession(caller('a'), silent), '2', { query: '{ hello }' }))).toEqual(['SHUTTING_DOWN']);
  });

  it("should count a caller's subscriptions across sessions (transports) and free a place once released", () => {
    const { pipeline } = pipelineWith({ perCaller: 2 });
    const websocket = new OperationSession(caller('a'), silent);
    const sse = new OperationSession(caller('a'), silent);
    const subscribe = (session: OperationSession, id: string) => codes(pipeline.prepare(session, id, { query: 'subscription { ticks }' }));
    expect([subscribe(websocket, '1'), subscribe(sse, 'sse')]).toEqual([[], []]);
    expect(subscribe(websocket, '2')).toEqual(['TOO_MANY_SUBSCRIPTIONS']);
    // Another caller is not held back by this one.
    expect(subscribe(new OperationSession(caller('b'), silent), '1')).toEqual([]);
    pipeline.release(sse, 'sse');
    expect(subscribe(websocket, '2')).toEqual([]);
  });

  it('should check every live subscription of a session again when its caller is replaced, and only those still live', async () => {
    const { pipeline, rechecked, contexts } = pipelineWith();
    const session = new OperationSession(caller('a', ['read']), silent);
    for (const id of ['1', '2']) {
      const prepared = pipeline.prepare(session, id, { query: 'subscription { ticks }' }, { resumeAfter: 'cursor-1' });
      if (!prepared.ok) throw new Error('refused');
      const stream = await pipeline.subscribe(prepared.args);
      if (!(Symbol.asyncIterator in stream)) throw new Error('no stream');
      await stream.next();
    }
    expect(contexts.map((ctx) => ctx.resumeAfter)).toEqual(['cursor-1', 'cursor-1']);
    pipeline.release(session, '1');
    session.replaceCaller(caller('a', ['narrower']));
    expect(session.caller.scopes).toEqual(new Set(['narrower']));
    expect(rechecked).toEqual(['anarrower']);
  });
});
