import { mintAccessToken } from './adapters/auth/access-tokens.js';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { SCOPES } from './domain/caller.js';
import { createLogger } from './logger.js';

/** Loads configuration, builds the app, starts it, and stops it on SIGTERM/SIGINT: the only process.exit. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`graphql-kafka-gateway: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL, config.LOG_FORMAT);
  const devToken =
    config.NODE_ENV === 'development'
      ? await mintAccessToken(config.AUTH_JWT_SECRET, { sub: 'developer', scope: [...SCOPES], expiresInSeconds: 7 * 24 * 3600 })
      : undefined;
  const app = await buildApp(config, logger, devToken ? { explorerToken: devToken } : {});

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
    if (devToken) {
      const url = `http://${address.address === '0.0.0.0' ? 'localhost' : address.address}:${address.port}/graphql`;
      logger.info({ url }, `explorer: open ${url}`);
      logger.info({ token: devToken }, 'development admin token (all scopes, 7 days); the explorer already sends it');
      if (config.authSecretGenerated) logger.info('AUTH_JWT_SECRET was generated for this run; tokens stop working at restart');
    }
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    await app.stop().catch(() => {});
    process.exit(1);
  }
}

void main();
