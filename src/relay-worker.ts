/**
 * The outbox relay's thread (started by `startRelayThread` from app.ts): the composition root of the relay alone,
 * with connections of its own (the lease's, one for LISTEN, its Kafka producer). Logs go to the starting thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { createKafka } from './adapters/kafka/kafka-client.js';
import type { KafkaSecurity } from './adapters/kafka/kafka-security.js';
import { createOutboxPublisher } from './adapters/kafka/outbox-publisher.js';
import { openDatabase } from './adapters/postgres/database.js';
import { oldestPendingAgeSeconds } from './adapters/postgres/outbox-backlog.js';
import { createOutboxStore } from './adapters/postgres/outbox-store.js';
import { createOutboxRelay } from './relay/outbox-relay.js';
import { type RelayThreadCommand, type RelayThreadReport, WAKE_POSTED } from './relay/relay-thread.js';

export interface RelayWorkerConfig {
  databaseUrl: string;
  kafkaBrokers: string[];
  /** TLS and SASL settings, as the gateway's own Kafka client has them (plain data: it crosses to the thread). */
  kafkaSecurity: KafkaSecurity;
  batchSize: number;
  pollMs: number;
  lingerMs: number;
  logLevel: string;
}

const port = parentPort;
if (!port) throw new Error('relay-worker.ts runs as a worker thread (see startRelayThread)');
const { config, wakeFlag } = workerData as { config: RelayWorkerConfig; wakeFlag: Int32Array };
const report = (message: RelayThreadReport) => port.postMessage(message);

const logger = pino({ level: config.logLevel, base: null, timestamp: false }, { write: (line: string) => report({ type: 'log', line }) });
const notifications = openDatabase(config.databaseUrl, { max: 1, applicationName: 'graphql-kafka-gateway relay listener' });
// Sends go to the starting thread with the state reports: one message per send would cost both threads under load.
let sends = { published: [] as number[], failed: 0 };
const relay = createOutboxRelay({
  store: createOutboxStore(config.databaseUrl, notifications.sql),
  publisher: createOutboxPublisher(createKafka(config.kafkaBrokers, logger.child({ component: 'kafka' }), undefined, config.kafkaSecurity)),
  logger,
  batchSize: config.batchSize,
  pollMs: config.pollMs,
  observer: {
    published: (records, seconds) => {
      sends.published.push(records, seconds);
    },
    publishFailed: () => {
      sends.failed++;
    },
  },
  lingerMs: config.lingerMs,
  // The wake flag stays up from the first commit after a read until the next read: one message per read at most.
  // (Lowered on receipt instead, each commit of a busy gateway posted a message while the relay waited on Kafka.)
  beforeRead: () => Atomics.store(wakeFlag, WAKE_POSTED, 0),
});

// The starting thread reads isActive and pending from these reports (metrics, and whether to NOTIFY).
let reported = { active: false, pending: 0 };
const reportSends = () => {
  if (sends.published.length === 0 && sends.failed === 0) return;
  report({ type: 'sends', ...sends });
  sends = { published: [], failed: 0 };
};
const reportState = setInterval(() => {
  reportSends();
  if (relay.isActive === reported.active && relay.pending === reported.pending) return;
  reported = { active: relay.isActive, pending: relay.pending };
  report({ type: 'state', ...reported });
}, 20);

// The oldest unpublished row's age (metrics), sampled on the relay that holds the lease: one index read a second.
let sampling = false;
let lastAge: number | null = null;
const sampleBacklog = setInterval(() => {
  if (sampling) return;
  sampling = true;
  (relay.isActive ? oldestPendingAgeSeconds(notifications.sql) : Promise.resolve(null))
    .then((age) => {
      if (age !== null || lastAge !== null) report({ type: 'backlog', oldestAgeSeconds: age });
      lastAge = age;
    })
    // Kept as last sampled while the database does not answer (the starting thread ages it meanwhile).
    .catch(() => {})
    .finally(() => {
      sampling = false;
    });
}, 1000);

port.on('message', (command: RelayThreadCommand) => {
  if (command.type === 'wake') {
    relay.wake();
    return;
  }
  clearInterval(reportState);
  clearInterval(sampleBacklog);
  relay
    .stop()
    .then(() => notifications.close())
    .catch((error: unknown) => report({ type: 'failed', message: String(error) }))
    .finally(() => {
      reportSends();
      report({ type: 'state', active: false, pending: relay.pending });
      report({ type: 'stopped' });
    });
});

relay.start().then(
  () => report({ type: 'started' }),
  (error: unknown) => {
    report({ type: 'failed', message: String(error) });
    process.exit(1);
  },
);
