import { mintAccessToken } from './adapters/auth/access-tokens.js';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { developmentTokenPlan } from './development-token.js';
import { SCOPES } from './domain/caller.js';
import { buildGatewayGraphQL, type GatewayGraphQL } from './graphql/schema.js';
import { createLogger } from './logger.js';
import { TopicDeclarationError } from './subscriptions/topic-directive.js';

/** Configuration the operator must fix: one line, exit status 2. */
function stopOnBadConfiguration(error: unknown): void {
  if (error instanceof ConfigError || error instanceof TopicDeclarationError) {
    process.stderr.write(`graphql-kafka-gateway: ${error.message}\n`);
    process.exit(2);
  }
}

/** Loads configuration, builds the app, starts it, and stops it on SIGTERM/SIGINT: the only process.exit. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  let graphql: GatewayGraphQL;
  try {
    config = loadConfig();
    // The schema and its declarations are configuration too: a broken one stops start-up like a bad variable.
    graphql = buildGatewayGraphQL({ schemaPaths: config.SCHEMA_PATHS, env: config.topicEnvironment });
  } catch (error) {
    stopOnBadConfiguration(error);
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL, config.LOG_FORMAT);
  const devPlan = config.NODE_ENV === 'development' ? developmentTokenPlan(config) : undefined;
  if (devPlan?.issue === false) logger.warn(devPlan.reason);
  const devToken = devPlan?.issue
    ? await mintAccessToken(config.AUTH_JWT_SECRET, {
        sub: 'developer',
        // Every scope this gateway reads, the declared fields' readScopes included: the explorer can try all of them.
        scope: [...new Set([...SCOPES, ...graphql.topics.map((topic) => topic.declaration.readScope)])],
        expiresInSeconds: devPlan.lifetimeSeconds,
        ...(config.AUTH_JWT_AUDIENCE !== undefined && { audience: config.AUTH_JWT_AUDIENCE }),
        ...(config.AUTH_JWT_ISSUER !== undefined && { issuer: config.AUTH_JWT_ISSUER }),
      })
    : undefined;
  const app = await buildApp(config, logger, { graphql, ...(devToken && { explorerToken: devToken }) });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    force.unref();
    app.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  try {
    const address = await app.start();
    if (devToken && devPlan?.issue) {
      const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}/graphql`;
      logger.info({ url }, `explorer: open ${url}`);
      const lifetime = devPlan.lifetimeSeconds % 86_400 === 0 ? `${devPlan.lifetimeSeconds / 86_400} days` : `${devPlan.lifetimeSeconds} s`;
      logger.info({ token: devToken }, `development admin token (all scopes, ${lifetime}); the explorer already sends it`);
    }
    if (config.authSecretGenerated) logger.info('AUTH_JWT_SECRET was generated for this run; tokens stop working at restart');
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    await app.stop().catch(() => {});
    process.exit(1);
  }
}

void main();
