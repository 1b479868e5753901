import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createKafka } from '../../src/adapters/kafka/kafka-client.js';
import { createOutboxPublisher } from '../../src/adapters/kafka/outbox-publisher.js';
import { testKafkaBrokers, uniqueName, waitFor } from '../support/resources.js';

describe('the outbox publisher', () => {
  it('should give up a send stuck in kafkajs retries when closed, leaving the records pending', async () => {
    const lines: string[] = [];
    const kafka = createKafka(testKafkaBrokers(), pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) }));
    const publisher = createOutboxPublisher(kafka);
    // A topic that does not exist: kafkajs retries the send, as it would while a partition has no leader.
    const record = { id: 1n, eventId: 'e1', topic: uniqueName('missing').replaceAll('_', '-'), key: 'acc', value: '{}' };
    let outcome: string | undefined;
    const sending = publisher.publish([record]).then(
      () => 'sent',
      (error: Error) => error.message,
    );
    void sending.then((o) => {
      outcome = o;
    });
    // The broker answered the send's metadata request that the topic is unknown: the send is in kafkajs's retries.
    await waitFor('the send to be retrying', () =>
      lines.some((l) => l.includes('does not host this topic-partition')) ? true : undefined,
    );
    await publisher.close();
    await waitFor('the send to end', () => outcome);
    expect(outcome).toBe('the outbox producer was closed while sending; the records stay pending');
  });
});
