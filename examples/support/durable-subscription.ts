import { asGatewayErrors, type GatewayError, gatewaySocket, orderSettledQuery } from './gateway-subscriptions.js';
import type { SettledEvent } from './settled-event.js';

const ORDER_SETTLED = orderSettledQuery(
  'eventId partition offset cursor order { id accountId amount currency product reference settledAt }',
);

export interface DurableSubscriptionOptions {
  /** The gateway's HTTP address, e.g. http://127.0.0.1:4000. */
  gatewayUrl: string;
  token: string;
  subscriberId: string;
  filter?: Record<string, unknown>;
  /** Where the next (re)subscription starts: asked again each time. */
  resumeFrom: () => ResumeFrom;
  /** The gateway refused the cursor resumeFrom gave (signed by another gateway secret, or for another topic). */
  onCursorRefused: () => void;
  /** Applies one event; the gateway commits its offset once it was written to the socket. */
  onEvent: (event: SettledEvent) => void;
  log: (line: string) => void;
}

export type ResumeFrom = { start: 'EARLIEST' | 'COMMITTED' } | { afterCursor: string };

const refusesCursor = (errors: readonly GatewayError[]) =>
  errors.some((e) => e.extensions?.code === 'BAD_USER_INPUT' && e.extensions.field === 'afterCursor');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A durable orderSettled subscriber that never gives up: graphql-ws retries the socket
 * (gateway restarts), and this loop subscribes again when the subscription itself ends
 * with an error (e.g. Kafka unavailable), with backoff. Returns a stop function.
 */
export function runDurableSubscription(options: DurableSubscriptionOptions): () => Promise<void> {
  const client = gatewaySocket(options.gatewayUrl, options.token, {
    retryAttempts: Number.MAX_SAFE_INTEGER,
    retryWait: (retries) => sleep(Math.min(200 * 2 ** retries, 3000)),
    shouldRetry: () => true,
    lazy: true,
    on: { closed: () => options.log('socket closed; reconnecting') },
  });
  let stopped = false;
  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      const from = options.resumeFrom();
      const variables = { subscriberId: options.subscriberId, ...from, ...(options.filter && { filter: options.filter }) };
      options.log(`subscribing as ${options.subscriberId} from ${'start' in from ? from.start : 'its last cursor'}`);
      try {
        for await (const result of client.iterate<{ orderSettled: SettledEvent }>({ query: ORDER_SETTLED, variables })) {
          if (result.errors) throw result.errors;
          if (result.data?.orderSettled) options.onEvent(result.data.orderSettled);
          failures = 0;
        }
      } catch (error) {
        // graphql-ws rejects with the errors of an `error` message; a result with errors is rethrown above as its list.
        const errors = Array.isArray(error) ? asGatewayErrors(error) : [];
        if ('afterCursor' in from && refusesCursor(errors)) options.onCursorRefused();
        if (!stopped)
          options.log(
            `subscription ended: ${errors.length > 0 ? JSON.stringify(errors) : error instanceof Error ? error.message : String(error)}`,
          );
      }
      if (!stopped) await sleep(Math.min(200 * 2 ** failures++, 3000));
    }
  })();
  return async () => {
    stopped = true;
    await client.dispose();
    await loop;
  };
}
