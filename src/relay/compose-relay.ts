import { createKafka } from '../adapters/kafka/kafka-client.js';
import type { KafkaSecurity } from '../adapters/kafka/kafka-security.js';
import { createOutboxPublisher } from '../adapters/kafka/outbox-publisher.js';
import { openDatabase } from '../adapters/postgres/database.js';
import { oldestPendingAgeSeconds } from '../adapters/postgres/outbox-backlog.js';
import { createOutboxStore } from '../adapters/postgres/outbox-store.js';
import type { Logger } from '../logger.js';
import { createOutboxRelay, type OutboxRelay, type RelayObserver } from './outbox-relay.js';

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

/** The relay's observer, and the outbox backlog sampled beside it (metrics). */
export interface RelayMetricsObserver extends RelayObserver {
  /** The oldest unpublished row's age when sampled; null when there is none or this process does not hold the lease. */
  oldestPending(ageSeconds: number | null): void;
}

export interface ComposeRelayOptions {
  /** Asks for wakes before the relay sleeps (OutboxRelayOptions.armWake). */
  armWake?: () => void;
  observer?: RelayMetricsObserver;
  /** How often the oldest unpublished row's age is sampled, while this relay holds the lease. @default 1000 */
  backlogSampleMs?: number;
}

/**
 * The outbox relay with connections of its own (the lease's, one for LISTEN, its Kafka producer), on whichever
 * thread calls this, and the backlog sampler when there is an observer. `stop` stops both and closes the LISTEN
 * connection.
 */
export function composeRelay(settings: RelaySettings, logger: Logger, options: ComposeRelayOptions = {}): OutboxRelay {
  const { observer, armWake } = options;
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
    ...(armWake && { armWake }),
    ...(observer && { observer }),
  });

  // One index read a second, on the relay that holds the lease.
  let sampler: NodeJS.Timeout | undefined;
  let sampling = false;
  let lastAge: number | null = null;
  const sampleBacklog = () => {
    if (sampling || !observer) return;
    sampling = true;
    (relay.isActive ? oldestPendingAgeSeconds(notifications.sql) : Promise.resolve(null))
      .then((age) => {
        if (age !== null || lastAge !== null) observer.oldestPending(age);
        lastAge = age;
      })
      // Kept as last sampled while the database does not answer.
      .catch(() => {})
      .finally(() => {
        sampling = false;
      });
  };

  return {
    async start() {
      await relay.start();
      if (observer && !sampler) sampler = setInterval(sampleBacklog, options.backlogSampleMs ?? 1000);
    },
    async stop() {
      clearInterval(sampler);
      sampler = undefined;
      await relay.stop();
      await notifications.close();
      observer?.oldestPending(null);
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
