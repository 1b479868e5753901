import { createKafka } from '../adapters/kafka/kafka-client.js';
import type { KafkaSecurity } from '../adapters/kafka/kafka-security.js';
import { createOutboxPublisher } from '../adapters/kafka/outbox-publisher.js';
import { openDatabase } from '../adapters/postgres/database.js';
import { createOutboxStore } from '../adapters/postgres/outbox-store.js';
import type { Logger } from '../logger.js';
import { createOutboxRelay, type OutboxRelay } from './outbox-relay.js';

/** How a relay is built: plain data, since it crosses to the relay's thread as `workerData`. */
export interface RelaySettings {
  databaseUrl: string;
  kafkaBrokers: string[];
  /** TLS and SASL settings, as the gateway's own Kafka client has them. */
  kafkaSecurity: KafkaSecurity;
  batchSize: number;
  pollMs: number;
  lingerMs: number;
}

/**
 * The outbox relay with connections of its own (the lease's, one for LISTEN, its Kafka producer), on whichever
 * thread calls this. `stop` stops the relay and closes the LISTEN connection.
 */
export function composeRelay(settings: RelaySettings, logger: Logger, beforeRead?: () => void): OutboxRelay {
  const notifications = openDatabase(settings.databaseUrl, { max: 1, applicationName: 'graphql-kafka-gateway relay listener' });
  const relay = createOutboxRelay({
    store: createOutboxStore(settings.databaseUrl, notifications.sql),
    publisher: createOutboxPublisher(
      createKafka(settings.kafkaBrokers, logger.child({ component: 'kafka' }), undefined, settings.kafkaSecurity),
    ),
    logger,
    batchSize: settings.batchSize,
    pollMs: settings.pollMs,
    lingerMs: settings.lingerMs,
    ...(beforeRead && { beforeRead }),
  });
  return {
    start: () => relay.start(),
    async stop() {
      await relay.stop();
      await notifications.close();
    },
    get isActive() {
      return relay.isActive;
    },
    get pending() {
      return relay.pending;
    },
    wake: () => relay.wake(),
  };
}
