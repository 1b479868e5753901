/**
 * The analytics platform: reads the topic directly with kafkajs, in a consumer group of
 * its own outside the gateway's prefix, and appends one NDJSON line per settled order.
 * The gateway is one way in among many. On start it reads the ids already in its file
 * (dropping a half-written last line), so a repeat after a crash is not appended twice.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { logger, stopOnSignals } from './support/system-env.js';

const log = logger('analytics');
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const topic = process.env.ORDERS_TOPIC ?? 'orders.settled';
const groupId = process.env.ANALYTICS_GROUP ?? 'analytics.ndjson';
const dir = join(process.env.EXAMPLES_STATE_DIR ?? '.cache/examples', 'analytics');
const file = join(dir, 'orders.ndjson');

function knownIds(): Set<string> {
  mkdirSync(dir, { recursive: true });
  if (!existsSync(file)) return new Set();
  const text = readFileSync(file, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete.length !== text.length) writeFileSync(file, complete);
  return new Set(
    complete
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { eventId: string }).eventId),
  );
}

interface CloudEvent {
  id: string;
  data: { id: string; accountId: string; amount: string; currency: string; product: string; settledAt: string };
}

const seen = knownIds();
log(`starting with ${seen.size} lines`);
const kafka = new Kafka({ clientId: 'analytics', brokers, logLevel: logLevel.NOTHING, retry: { retries: Number.MAX_SAFE_INTEGER } });
const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 250, retry: { retries: Number.MAX_SAFE_INTEGER } });

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  // kafkajs commits after eachMessage resolves, so a crash only repeats records, which `seen` drops.
  eachMessage: async ({ partition, message }) => {
    const event = JSON.parse(String(message.value)) as CloudEvent;
    if (seen.has(event.id)) return;
    const { data } = event;
    const line = {
      eventId: event.id,
      orderId: data.id,
      accountId: data.accountId,
      amount: data.amount,
      currency: data.currency,
      product: data.product,
      settledAt: data.settledAt,
      partition,
      offset: message.offset,
    };
    appendFileSync(file, `${JSON.stringify(line)}\n`);
    seen.add(event.id);
  },
});
stopOnSignals(() => consumer.disconnect());
