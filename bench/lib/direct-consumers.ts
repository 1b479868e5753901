/**
 * The alternative to the gateway a user would try: one kafkajs consumer per client, each in a consumer group of its
 * own, straight to Kafka, reading the whole topic and keeping its account's records (Kafka cannot filter for it).
 * Consumers of a process share nothing but the process. Driven over IPC (bench-child.ts): `open` adds consumers,
 * `status` answers counts, `close` disconnects them all. Joined: the consumer's first GROUP_JOIN event fired.
 */
import { type Consumer, Kafka, logLevel } from 'kafkajs';

export interface DirectConsumersSetup {
  brokers: string;
  topic: string;
  /** Consumer i's group: `<groupPrefix>.direct-<i>`. */
  groupPrefix: string;
  /** New consumers started per second. */
  perSecond: number;
}

export type DirectConsumersRequest = { type: 'open'; from: number; count: number } | { type: 'status' } | { type: 'close' };

export interface DirectConsumersStatus {
  type: 'status';
  open: number;
  joined: number;
  errors: number;
  firstError: string | null;
  /** Records fetched by every consumer of this process since it started. */
  received: number;
  /** Start -> joined of every consumer that joined, in ms. */
  joinLatencies: number[];
}

const setup = JSON.parse(process.env.DIRECT_CONSUMERS_SETUP ?? '{}') as DirectConsumersSetup;
if (!setup.brokers.split(',').every((b) => b.startsWith('127.0.0.1:'))) throw new Error('the consumers connect to loopback only');

const consumers: Consumer[] = [];
let joined = 0;
let errors = 0;
let received = 0;
let firstError: string | null = null;
/** Set by `close`: a consumer still due to start would make a group after the clean-up deleted the others. */
let closing = false;
const joinLatencies: number[] = [];

function failed(reason: string) {
  errors++;
  firstError ??= reason;
}

async function openOne(index: number) {
  // A client of its own per consumer: its own connections, as separate clients would have.
  const kafka = new Kafka({ brokers: setup.brokers.split(','), clientId: `bench-direct-${index}`, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${setup.groupPrefix}.direct-${index}` });
  consumers.push(consumer);
  let first = true;
  const started = performance.now();
  consumer.on(consumer.events.GROUP_JOIN, () => {
    if (!first) return;
    first = false;
    joined++;
    joinLatencies.push(performance.now() - started);
  });
  consumer.on(consumer.events.CRASH, (event) => failed(`crash: ${String(event.payload.error)}`));
  try {
    await consumer.connect();
    await consumer.subscribe({ topic: setup.topic, fromBeginning: false });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        received += batch.messages.length;
      },
    });
  } catch (error) {
    failed(String(error));
  }
}

process.on('message', (message: DirectConsumersRequest) => {
  if (message.type === 'open') {
    // Paced, at the rate the gateway's subscriptions join in the durable-commits scenario.
    const started = Date.now();
    const next = (i: number) => {
      if (closing || i >= message.count) return;
      void openOne(message.from + i);
      const due = started + ((i + 1) * 1000) / setup.perSecond;
      setTimeout(() => next(i + 1), Math.max(0, due - Date.now()));
    };
    next(0);
  } else if (message.type === 'status') {
    const status: DirectConsumersStatus = { type: 'status', open: consumers.length, joined, errors, firstError, received, joinLatencies };
    process.send?.(status);
  } else if (message.type === 'close') {
    closing = true;
    Promise.allSettled(consumers.map((c) => c.disconnect())).finally(() => process.exit(0));
  }
});
process.send?.({ type: 'started' });
