import { createHmac } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { callerFromAuthorization, tokenRulesOf } from './adapters/auth/access-tokens.js';
import { createKafka } from './adapters/kafka/kafka-client.js';
import { kafkaReachability } from './adapters/kafka/kafka-reachability.js';
import { kafkaSecurity } from './adapters/kafka/kafka-security.js';
import { createKafkaTopicSource } from './adapters/kafka/kafka-topic-source.js';
import { topicKeeper } from './adapters/kafka/topic-keeper.js';
import { openDatabase } from './adapters/postgres/database.js';
import { applyMigrationsWhenReachable } from './adapters/postgres/migrate.js';
import { createOutboxSignal } from './adapters/postgres/outbox-writer.js';
import { createPostgresLedger } from './adapters/postgres/postgres-ledger.js';
import { postgresReachability } from './adapters/postgres/postgres-reachability.js';
import type { Config } from './config.js';
import type { Caller } from './domain/caller.js';
import { createLedgerService } from './domain/ledger-service.js';
import { SubscriptionChurn } from './domain/subscription-churn.js';
import type { GatewayServices } from './graphql/context.js';
import { createErrorFormatter } from './graphql/format-error.js';
import { buildGatewayGraphQL, type GatewayGraphQL } from './graphql/schema.js';
import { subscriptionExamples } from './graphql/subscription-examples.js';
import { resumeIdOf, subscriptionSharing } from './graphql/subscription-sharing.js';
import { lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import { groupLabeler, groupLabelKey } from './observability/group-labels.js';
import { createGatewayMetrics } from './observability/metrics-registry.js';
import { reachabilityProbe } from './observability/reachability.js';
import { recordRejections } from './observability/record-rejections.js';
import { operationPolicyFrom } from './operations/operation-limits.js';
import { createOperationPipeline, type OperationSession } from './operations/operation-pipeline.js';
import { SubscriptionLimits } from './operations/subscription-limits.js';
import { composeRelay, type RelaySettings } from './relay/compose-relay.js';
import { startRelayThread } from './relay/relay-thread.js';
import type { RelayWorkerConfig } from './relay-worker.js';
import { createDrainState } from './transport/drain.js';
import { createExplorerHandler, createExplorerOffHandler, explorerAssetsExist, MUTATIONS_TAB } from './transport/explorer.js';
import { healthRoutes } from './transport/health.js';
import { createHttpServer } from './transport/http-server.js';
import { metricsRoute } from './transport/metrics.js';
import { rootFieldNames } from './transport/operation-metrics.js';
import { createRateLimiter } from './transport/rate-limiter.js';
import { createSseServer } from './transport/sse-server.js';
import { startWebSocketServer } from './transport/websocket-server.js';

/** Resolves true once `condition` holds, or false after `timeoutMs`. */
async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  // Polled: graphql-ws has no hook for "the complete message was written".
  while (!condition()) {
    if (Date.now() >= until) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

export const EXPLORER_ASSETS_DIR = fileURLToPath(new URL('../dist/explorer', import.meta.url));

export interface App {
  /** Applies migrations, ensures the topic, starts the relay and listens. */
  start(): Promise<AddressInfo>;
  /**
   * Drains (/readyz 503, new websockets refused, for DRAIN_DELAY_MS), completes every subscription (committing what
   * was delivered) and closes its socket with 1001, lets in-flight requests finish, stops the relay, closes connections.
   */
  stop(): Promise<void>;
}

export interface AppOptions {
  /** Pre-filled Authorization header for the explorer (development). */
  explorerToken?: string;
  /** The schema and its declared fields, when the caller already built them from this config. @default built here */
  graphql?: GatewayGraphQL;
}

/**
 * The composition root: adapters -> use cases -> transports, each built from what is built before it, then run as a
 * list of components started in order and stopped in reverse. Nothing connects until start(). A broken SDL file or
 * `@topic` declaration throws (ConfigError, TopicDeclarationError) before anything is opened.
 */
export async function buildApp(config: Config, logger: Logger, options: AppOptions = {}): Promise<App> {
  const { schema, topics } = options.graphql ?? buildGatewayGraphQL({ schemaPaths: config.SCHEMA_PATHS, env: config.topicEnvironment });
  // First: every other part takes its observers; what its gauges read is handed over at the end (readFrom).
  const metrics = createGatewayMetrics({
    operations: rootFieldNames(schema),
    maxLagGroups: config.METRICS_MAX_LAG_GROUPS,
    durableGroupIdleMs: config.DURABLE_GROUP_IDLE_MS,
    groupLabel: groupLabeler(config.METRICS_GROUP_LABELS, groupLabelKey(config.AUTH_JWT_SECRET)),
  });
  const security = kafkaSecurity(config);
  const kafka = createKafka(config.KAFKA_BROKERS, logger.child({ component: 'kafka' }), undefined, security);
  const database = openDatabase(config.DATABASE_URL, { max: config.DATABASE_POOL_MAX, coalesceWrites: config.DATABASE_COALESCE_WRITES });

  // Readiness: each dependency checked on a connection of its own, kept; /readyz and scrapes read the probe's state.
  const postgresCheck = postgresReachability(config.DATABASE_URL);
  // A client of its own whose connection errors are not logged: during an outage they would come every check, and
  // the probe logs one line when a dependency stops answering and one when it is back.
  const kafkaCheck = kafkaReachability(
    createKafka(
      config.KAFKA_BROKERS,
      logger.child({ component: 'readiness' }, { level: 'silent' }),
      'graphql-kafka-gateway-readiness',
      security,
    ),
  );
  const reachability = reachabilityProbe(
    [
      { name: 'postgres', check: () => postgresCheck.check() },
      { name: 'kafka', check: () => kafkaCheck.check() },
    ],
    {
      intervalMs: config.READINESS_REFRESH_MS,
      onCheck: (name, up) => metrics.dependencies.checked(name, up),
      onChange: (dependency, up) => {
        if (up) logger.info({ dependency }, 'dependency answers its readiness check again: /readyz can answer 200');
        else logger.warn({ dependency }, 'dependency does not answer its readiness check: /readyz answers 503');
      },
    },
  );

  // The command path: the relay, then the outbox signal that wakes it in-process whenever it holds the lease.
  const relayLogger = logger.child({ component: 'outbox-relay' });
  const relaySettings: RelaySettings = {
    databaseUrl: config.DATABASE_URL,
    kafkaBrokers: config.KAFKA_BROKERS,
    kafkaSecurity: security,
    batchSize: config.RELAY_BATCH_SIZE,
    pollMs: config.RELAY_POLL_MS,
    lingerMs: config.RELAY_LINGER_MS,
  };
  const relay = config.RELAY_THREAD
    ? startRelayThread({
        script: new URL(import.meta.url.endsWith('.ts') ? './relay-worker.ts' : './relay-worker.js', import.meta.url),
        config: { ...relaySettings, logLevel: relayLogger.level } satisfies RelayWorkerConfig,
        logger: relayLogger,
        restartMs: config.RELAY_POLL_MS,
        observer: metrics.relay,
      })
    : composeRelay(relaySettings, relayLogger, { observer: metrics.relay });
  const outboxSignal = createOutboxSignal(database.sql, {
    wakeLocal: () => {
      if (!relay.isActive) return false;
      relay.wake();
      return true;
    },
  });
  const ordersTopic = topicKeeper(kafka, config.ORDERS_TOPIC, config.ORDERS_TOPIC_PARTITIONS, logger);

  // The subscription path: every declared field on one engine.
  const topicSource = createKafkaTopicSource({
    kafka,
    topics,
    rejected: recordRejections({ logger: logger.child({ component: 'subscriptions' }), count: metrics.recordRejected }),
    groupPrefix: config.KAFKA_GROUP_PREFIX,
    cursorSecret: createHmac('sha256', config.AUTH_JWT_SECRET).update('subscription-cursor').digest('base64url'),
    logger: logger.child({ component: 'subscriptions' }),
    windowRecords: config.SUBSCRIPTION_WINDOW_RECORDS,
    commitIntervalMs: config.OFFSETS_COMMIT_INTERVAL_MS,
    commitsPerSecond: config.OFFSETS_COMMITS_PER_SECOND,
    offsetsRefreshMs: config.OFFSETS_REFRESH_MS,
    observer: metrics.subscriptions,
    // Beyond the labelled ones, groups count only in group="other": following ten times as many bounds the fetches.
    lag: { refreshMs: config.METRICS_REFRESH_MS, maxUnheld: 10 * config.METRICS_MAX_LAG_GROUPS },
    ...(config.EPHEMERAL_GROUP_SWEEP_MS > 0 && {
      ephemeralSweep: { sweepMs: config.EPHEMERAL_GROUP_SWEEP_MS, staleAfterMs: config.EPHEMERAL_GROUP_STALE_MS },
    }),
  });
  const services: GatewayServices = {
    ledger: createLedgerService(createPostgresLedger(database, config.ORDERS_TOPIC, outboxSignal)),
    topics: topicSource,
  };

  // What every transport applies, defined once: tokens, rates, limits, the operation pipeline.
  // One rules object for the process: the verified-token cache is keyed by it.
  const tokenRules = tokenRulesOf(config);
  const authenticate = (header: unknown) => callerFromAuthorization(config.AUTH_JWT_SECRET, header, tokenRules);
  const rateLimiter = createRateLimiter({ perSecond: config.RATE_LIMIT_PER_SECOND, burst: config.RATE_LIMIT_BURST });
  const admit = (caller: Caller) => rateLimiter.admit(caller.sub);
  const formatError = createErrorFormatter(logger.child({ component: 'graphql' }));
  const operations = operationPolicyFrom(config, schema);
  const drain = createDrainState();
  let shuttingDown = false;
  const pipeline = createOperationPipeline({
    schema,
    policy: operations,
    services,
    admit,
    // One count of subscriptions per caller, and one allowance of new ones per minute, over every transport.
    limits: new SubscriptionLimits<OperationSession>({
      perSocket: config.SUBSCRIPTIONS_PER_SOCKET,
      perCaller: config.SUBSCRIPTIONS_PER_CALLER,
      churn: new SubscriptionChurn(config.SUBSCRIPTIONS_PER_CALLER_PER_MINUTE),
    }),
    formatError,
    accepting: () => drain.phase === 'serving',
    sharing: subscriptionSharing,
  });

  // The transports.
  // After the drain delay, the rest of SHUTDOWN_TIMEOUT_MS is shared out: subscriptions completing, in-flight HTTP
  // requests, then the relay, the topic check and the database (main.ts exits anyway at the timeout).
  const closingBudgetMs = Math.max(0, config.SHUTDOWN_TIMEOUT_MS - config.DRAIN_DELAY_MS);
  if (config.EXPLORER_ENABLED && !explorerAssetsExist(EXPLORER_ASSETS_DIR)) {
    logger.warn({ assetsDir: EXPLORER_ASSETS_DIR }, 'the GraphiQL explorer is not built: run `npm run build` to serve it');
  }
  const sse = createSseServer({
    pipeline,
    authenticate,
    logger: logger.child({ component: 'sse' }),
    keepAliveMs: config.SSE_KEEPALIVE_MS,
    resumeIdOf,
    observer: metrics.http,
  });
  const http = await createHttpServer({
    sse,
    schema,
    services,
    authenticate,
    admit,
    formatError,
    operations,
    logger: logger.child({ component: 'http' }),
    stopGraceMs: Math.floor(closingBudgetMs / 3),
    observer: metrics.http,
    drain,
    routes: [
      ...healthRoutes(reachability, () => shuttingDown),
      metricsRoute(metrics, { ...(config.METRICS_TOKEN !== undefined && { token: config.METRICS_TOKEN }) }),
      ...(config.EXPLORER_ENABLED
        ? createExplorerHandler({
            assetsDir: EXPLORER_ASSETS_DIR,
            ...(config.NODE_ENV === 'development' && { exampleTabs: [MUTATIONS_TAB, ...subscriptionExamples(topics)] }),
            ...(options.explorerToken && { initialHeaders: JSON.stringify({ Authorization: `Bearer ${options.explorerToken}` }) }),
          })
        : [createExplorerOffHandler()]),
    ],
  });
  const websockets = startWebSocketServer({
    httpServer: http.server,
    path: '/graphql',
    pipeline,
    authenticate,
    logger: logger.child({ component: 'websocket' }),
    keepAliveMs: config.WS_KEEPALIVE_MS,
    initTimeoutMs: config.WS_INIT_TIMEOUT_MS,
    maxAwaitingInit: config.WS_MAX_AWAITING_INIT,
    accepting: () => drain.phase === 'serving',
    observer: metrics.websocket,
  });
  metrics.readFrom({
    activeSubscriptions: () => topicSource.activeCount,
    outboxPending: () => relay.pending,
    relayActive: () => relay.isActive,
    websocketConnections: () => websockets.connectionCount(),
    groupLag: () => topicSource.groupLag(),
    reachability: () => reachability.state,
  });

  let address: AddressInfo | undefined;
  const components = lifecycle(
    [
      {
        name: 'readiness probe',
        start: () => reachability.start(),
        stop: async () => {
          reachability.stop();
          await Promise.all([postgresCheck.close(), kafkaCheck.close()]);
        },
      },
      {
        name: 'database',
        start: async () => {
          await applyMigrationsWhenReachable(config.DATABASE_URL, {
            giveUp: () => shuttingDown,
            onWait: (error, retryInMs) => logger.warn({ err: error, retryInMs }, 'PostgreSQL is not answering; start-up waits for it'),
          });
          logger.info('database migrations are applied');
        },
        stop: async () => {
          await outboxSignal.close();
          await database.close();
        },
      },
      { name: 'orders topic', start: () => ordersTopic.start(), stop: () => ordersTopic.stop() },
      { name: 'outbox relay', start: () => relay.start(), stop: () => relay.stop() },
      { name: 'subscriptions', start: () => topicSource.start(), stop: () => topicSource.close() },
      {
        name: 'http',
        start: async () => {
          address = await http.listen(config.PORT, config.HOST);
          logger.info({ host: address.address, port: address.port }, 'gateway is listening');
        },
        stop: () => http.stop(),
      },
      // Closes every socket with 1001 (going away).
      { name: 'websockets', stop: () => websockets.close() },
    ],
    logger,
  );

  return {
    async start() {
      await components.start();
      if (!address) throw new Error('the HTTP server did not report its address');
      return address;
    },
    async stop() {
      shuttingDown = true;
      drain.enter('draining');
      const deadline = setTimeout(() => logger.warn('shutdown is taking longer than SHUTDOWN_TIMEOUT_MS'), config.SHUTDOWN_TIMEOUT_MS);
      try {
        if (config.DRAIN_DELAY_MS > 0 && http.server.listening) {
          logger.info({ drainDelayMs: config.DRAIN_DELAY_MS }, 'draining: /readyz answers 503 and new websockets are refused');
          await new Promise((resolve) => setTimeout(resolve, config.DRAIN_DELAY_MS));
        }
        drain.enter('closing');
        // Each subscription's stream ends: graphql-ws and SSE send `complete`, and what was delivered is committed.
        topicSource.finishAll();
        const openSubscriptions = () => websockets.openOperations() + sse.openStreams();
        const completed = await waitUntil(() => openSubscriptions() === 0, Math.max(100, Math.floor(closingBudgetMs / 5)));
        if (!completed)
          logger.warn({ open: openSubscriptions() }, 'some subscriptions did not complete in time; closing their connections');
        await components.stop();
      } finally {
        clearTimeout(deadline);
      }
    },
  };
}
