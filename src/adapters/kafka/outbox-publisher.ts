import type { Kafka, Producer } from 'kafkajs';
import { CLOUDEVENT_CONTENT_TYPE } from '../../domain/order-event.js';
import type { PendingRecord, RecordPublisher } from '../../ports/outbox.js';

/**
 * Sends outbox records with kafkajs's idempotent producer: acks from all
 * in-sync replicas, one request in flight, so a partition's records land in
 * the order given and a request kafkajs retries is not written twice.
 *
 * kafkajs's retries are bounded (the client's): a send that keeps failing
 * (a missing topic, too few replicas) must end, so the relay can back off,
 * report it, and stop. kafkajs warns that this "may invalidate EoS": a send
 * the relay repeats with a new producer may write a record twice, under the
 * same eventId, which consumers drop.
 */
export function createOutboxPublisher(kafka: Kafka): RecordPublisher {
  let producer: Producer | null = null;
  let abandon: ((reason: Error) => void) | undefined;

  const connected = async (): Promise<Producer> => {
    if (producer) return producer;
    const created = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    try {
      await created.connect();
    } catch (error) {
      await created.disconnect().catch(() => {});
      throw error;
    }
    producer = created;
    return created;
  };

  // A send inside kafkajs's retries does not end when its producer disconnects: reset and close abandon it.
  const drop = async () => {
    abandon?.(new Error('the outbox producer was closed while sending; the records stay pending'));
    const current = producer;
    producer = null;
    await current?.disconnect().catch(() => {});
  };

  return {
    async publish(records: readonly PendingRecord[]): Promise<void> {
      const byTopic = new Map<string, PendingRecord[]>();
      for (const record of records) byTopic.set(record.topic, [...(byTopic.get(record.topic) ?? []), record]);
      const sender = await connected();
      const sending = sender.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map((r) => ({ key: r.key, value: r.value, headers: { 'content-type': CLOUDEVENT_CONTENT_TYPE } })),
        })),
      });
      sending.catch(() => {}); // settled later than an abandonment, if at all
      const abandoned = new Promise<never>((_, reject) => {
        abandon = reject;
      });
      try {
        await Promise.race([sending, abandoned]);
      } finally {
        abandon = undefined;
      }
    },
    reset: drop,
    close: drop,
  };
}
