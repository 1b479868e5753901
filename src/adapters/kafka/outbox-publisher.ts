import type { Kafka, Producer } from 'kafkajs';
import { CLOUDEVENT_CONTENT_TYPE } from '../../domain/order-event.js';
import type { PendingRecord, RecordPublisher } from '../../ports/outbox.js';

/**
 * Sends outbox records with kafkajs's idempotent producer: acks from all
 * in-sync replicas, one request in flight, so a partition's records land in
 * the order given and a retried request is not written twice.
 */
export function createOutboxPublisher(kafka: Kafka): RecordPublisher {
  let producer: Producer | null = null;

  const connected = async (): Promise<Producer> => {
    if (producer) return producer;
    const created = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // kafkajs's own default for an idempotent producer: a retried request keeps its producer id and sequence
      // numbers, so the broker drops a copy it already wrote. Only a non-retriable error reaches the relay, which
      // then starts a new producer (whose resend may repeat a record, under the same eventId).
      retry: { retries: Number.MAX_SAFE_INTEGER },
    });
    try {
      await created.connect();
    } catch (error) {
      await created.disconnect().catch(() => {});
      throw error;
    }
    producer = created;
    return created;
  };

  const drop = async () => {
    const current = producer;
    producer = null;
    await current?.disconnect().catch(() => {});
  };

  return {
    async publish(records: readonly PendingRecord[]): Promise<void> {
      const byTopic = new Map<string, PendingRecord[]>();
      for (const record of records) byTopic.set(record.topic, [...(byTopic.get(record.topic) ?? []), record]);
      const sender = await connected();
      await sender.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map((r) => ({ key: r.key, value: r.value, headers: { 'content-type': CLOUDEVENT_CONTENT_TYPE } })),
        })),
      });
    },
    reset: drop,
    close: drop,
  };
}
