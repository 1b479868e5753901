import { asGatewayErrors, type GatewayError, gatewaySocket } from './gateway-subscriptions.js';
import type { TopicEvent } from './settled-event.js';

export interface DurableSubscriptionOptions<E extends TopicEvent> {
  /** The Subscription field, e.g. orderSettled: the root field of `query` and the key of its results. */
  field: string;
  /** The subscription document (topicSubscriptionQuery in gateway-subscriptions.ts). */
  query: string;
  subscriberId: string;
  filter?: Record<string, unknown>;
  /** Where the next (re)subscription starts: asked again each time. */
  resumeFrom: () => ResumeFrom;
  /** The gateway refused the cursor resumeFrom gave (signed by another gateway secret, or for another topic). */
  onCursorRefused: () => void;
  /**
   * Applies one event; the next is not applied before it resolves. A rejection ends the subscription, which starts
   * again from resumeFrom(), so the event comes again.
   */
  onEvent: (event: E) => void | Promise<void>;
}

export type ResumeFrom = { start: 'EARLIEST' | 'COMMITTED' } | { afterCursor: string };

export interface DurableSubscriptions {
  /** Follows one field on the shared socket until stop(). */
  follow<E extends TopicEvent>(options: DurableSubscriptionOptions<E>): void;
  stop(): Promise<void>;
}

const refusesCursor = (errors: readonly GatewayError[]) =>
  errors.some((e) => e.extensions?.code === 'BAD_USER_INPUT' && e.extensions.field === 'afterCursor');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Durable subscribers that never give up, on one socket: graphql-ws retries the socket (gateway restarts), and each
 * followed field subscribes again when its subscription ends with an error (e.g. Kafka unavailable), with backoff.
 */
export function durableSubscriptions(gatewayUrl: string, token: string, log: (line: string) => void): DurableSubscriptions {
  const client = gatewaySocket(gatewayUrl, token, {
    retryAttempts: Number.MAX_SAFE_INTEGER,
    retryWait: (retries) => sleep(Math.min(200 * 2 ** retries, 3000)),
    shouldRetry: () => true,
    lazy: true,
    on: { closed: () => log('socket closed; reconnecting') },
  });
  let stopped = false;
  const loops: Promise<void>[] = [];

  async function loop<E extends TopicEvent>(options: DurableSubscriptionOptions<E>): Promise<void> {
    let failures = 0;
    while (!stopped) {
      const from = options.resumeFrom();
      const variables = { subscriberId: options.subscriberId, ...from, ...(options.filter && { filter: options.filter }) };
      log(`subscribing to ${options.field} as ${options.subscriberId} from ${'start' in from ? from.start : 'its last cursor'}`);
      try {
        for await (const result of client.iterate<Record<string, E>>({ query: options.query, variables })) {
          if (result.errors) throw result.errors;
          const event = result.data?.[options.field];
          if (event) await options.onEvent(event);
          failures = 0;
        }
      } catch (error) {
        // graphql-ws rejects with the errors of an `error` message; a result with errors is rethrown above as its list.
        const errors = Array.isArray(error) ? asGatewayErrors(error) : [];
        if ('afterCursor' in from && refusesCursor(errors)) options.onCursorRefused();
        if (!stopped)
          log(
            `${options.field} subscription ended: ${errors.length > 0 ? JSON.stringify(errors) : error instanceof Error ? error.message : String(error)}`,
          );
      }
      if (!stopped) await sleep(Math.min(200 * 2 ** failures++, 3000));
    }
  }

  return {
    follow(options) {
      loops.push(loop(options));
    },
    async stop() {
      stopped = true;
      // Disposing the socket ends every subscription on it, so each loop sees `stopped` and returns.
      await client.dispose();
      await Promise.all(loops);
    },
  };
}
