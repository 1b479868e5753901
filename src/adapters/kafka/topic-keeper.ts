import type { Kafka } from 'kafkajs';
import type { Logger } from '../../logger.js';
import { ensureTopic } from './kafka-client.js';

/**
 * Creates the topic the relay publishes to, in the background until it exists: Kafka may be down at start-up, and
 * the outbox holds orders meanwhile. `stop` waits for a check in flight at most 2 s (with Kafka down, one can sit in
 * kafkajs's retries; it gives up by itself once stopped).
 */
export function topicKeeper(kafka: Kafka, topic: string, partitions: number, logger: Logger) {
  let stopping = false;
  let done: Promise<void> = Promise.resolve();
  const keep = async () => {
    for (let waitMs = 500; !stopping; waitMs = Math.min(waitMs * 2, 10_000)) {
      try {
        const outcome = await ensureTopic(kafka, topic, partitions);
        if (!stopping) logger.info({ topic, outcome }, 'orders topic is ready');
        return;
      } catch (error) {
        if (stopping) return;
        logger.warn({ err: error, topic, retryInMs: waitMs }, 'could not create or check the orders topic; retrying');
        await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
      }
    }
  };
  return {
    start(): void {
      done = keep();
    },
    async stop(): Promise<void> {
      stopping = true;
      await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    },
  };
}
