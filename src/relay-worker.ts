/**
 * The outbox relay's thread (started by `startRelayThread` from app.ts): the composition root of the relay alone,
 * with connections of its own (the lease's, one for LISTEN, its Kafka producer). Logs go to the starting thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { composeRelay, type RelaySettings } from './relay/compose-relay.js';
import { type RelayThreadCommand, type RelayThreadReport, WAKE_POSTED } from './relay/relay-thread.js';

export interface RelayWorkerConfig extends RelaySettings {
  logLevel: string;
}

const port = parentPort;
if (!port) throw new Error('relay-worker.ts runs as a worker thread (see startRelayThread)');
const { config, wakeFlag } = workerData as { config: RelayWorkerConfig; wakeFlag: Int32Array };
const report = (message: RelayThreadReport) => port.postMessage(message);

const logger = pino({ level: config.logLevel, base: null, timestamp: false }, { write: (line: string) => report({ type: 'log', line }) });
// Sends go to the starting thread with the state reports: one message per send would cost both threads under load.
let sends = { published: [] as number[], failed: 0 };
// The wake flag is lowered only when the relay may go to sleep, and the first commit after that raises it and posts
// the one wake: a busy relay gets no messages. (Lowered before every read, a busy gateway posted one per pass,
// and lowered on receipt, one per commit while the relay waited on Kafka.)
const relay = composeRelay(config, logger, {
  armWake: () => Atomics.store(wakeFlag, WAKE_POSTED, 0),
  observer: {
    published: (records, seconds) => {
      sends.published.push(records, seconds);
    },
    publishFailed: () => {
      sends.failed++;
    },
    oldestPending: (ageSeconds) => report({ type: 'backlog', oldestAgeSeconds: ageSeconds }),
  },
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

port.on('message', (command: RelayThreadCommand) => {
  if (command.type === 'wake') {
    relay.wake();
    return;
  }
  clearInterval(reportState);
  relay
    .stop()
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
