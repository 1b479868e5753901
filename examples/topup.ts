/**
 * The phone top-up service: a durable subscriber that asks the gateway for
 * `product = phone-topup` only, and "performs" each top-up once (recorded in its
 * own state, keyed by eventId, so a repeat after a reconnect tops up nothing twice).
 *
 * Then, as every system in this story does, it publishes its own final state to a
 * topic of its own (TOPUPS_TOPIC, default topups.completed): one CloudEvent
 * `topup.completed` per top-up, keyed by account, with a plain kafkajs producer
 * that knows nothing of the gateway. The gateway serves that topic as
 * `topupCompleted` from one SDL file (examples/topups.graphql), with no code.
 */
import { Kafka, logLevel } from 'kafkajs';
import { followOrderSettled } from './support/followed-fields.js';
import { runSubscribedSystem } from './support/subscribed-system.js';
import { type TopUp, topUpStatus } from './support/top-up.js';

interface TopUps {
  done: number;
  failed: number;
  /** Per phone number (the order's reference), minor units topped up. */
  byPhone: Record<string, string>;
}

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const topic = process.env.TOPUPS_TOPIC ?? 'topups.completed';
const producer = new Kafka({ clientId: 'topup', brokers, logLevel: logLevel.NOTHING }).producer();
let connected: Promise<void> | undefined;

/** CloudEvents 1.0, structured JSON mode; the top-up's id is the event's id, so a top-up published twice is one event. */
async function publish(topup: TopUp): Promise<void> {
  connected ??= producer.connect().catch((error: unknown) => {
    connected = undefined;
    throw error;
  });
  await connected;
  const event = {
    specversion: '1.0',
    id: topup.topupId,
    type: 'topup.completed',
    source: 'topup-service',
    subject: topup.topupId,
    time: topup.completedAt,
    datacontenttype: 'application/json',
    data: topup,
  };
  await producer.send({
    topic,
    messages: [{ key: topup.accountId, value: JSON.stringify(event), headers: { 'content-type': 'application/cloudevents+json' } }],
  });
}

const system = runSubscribedSystem<TopUps>({
  name: 'topup',
  subscriberId: 'demo',
  initialFigure: () => ({ done: 0, failed: 0, byPhone: {} }),
  follows: [
    followOrderSettled({
      filter: { product: 'phone-topup' },
      // Published before the state that says it was done is saved: a crash in between performs it again on the
      // redelivery, under the same top-up id, which a subscriber drops as a repeat by its eventId.
      async apply(figure: TopUps, { order }) {
        const phone = order.reference ?? 'unknown';
        const status = topUpStatus(phone);
        const topupId = `topup-${order.id}`;
        await publish({
          topupId,
          orderId: order.id,
          accountId: order.accountId,
          phone,
          amount: order.amount,
          status,
          completedAt: new Date().toISOString(),
        });
        if (status === 'DONE') {
          figure.byPhone[phone] = String(BigInt(figure.byPhone[phone] ?? '0') + BigInt(order.amount));
          figure.done += 1;
        } else {
          figure.failed += 1;
          system.log(`top-up ${topupId} of ${phone} FAILED`);
        }
      },
    }),
  ],
  close: () => producer.disconnect(),
});
