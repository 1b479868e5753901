import type { Admin, Kafka } from 'kafkajs';
import { type CursorScope, decodeCursor, encodeCursor } from '../../domain/subscription-cursor.js';
import { badInput } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { SettledOrderDelivery, SettledOrderSource, StartPosition, SubscribeRequest } from '../../ports/settled-order-source.js';
import { durableGroupId, ephemeralGroupId } from './consumer-group-names.js';
import type { StartRequest } from './start-offsets.js';
import { type SessionOptions, SubscriptionSession } from './subscription-session.js';

export interface KafkaOrderSourceOptions {
  /** The kafkajs client; its brokers, retries and logging are the caller's. */
  readonly kafka: Kafka;
  /** The topic of settled orders (`ORDERS_TOPIC`). */
  readonly topic: string;
  /** Prefix of every consumer group (`KAFKA_GROUP_PREFIX`). */
  readonly groupPrefix: string;
  /** Signs and verifies subscription cursors. */
  readonly cursorSecret: string;
  readonly logger: Logger;
  /**
   * Records one subscription hands on before the subscriber acknowledged them;
   * its consumer waits beyond that, so a slow subscriber holds at most this
   * many plus one fetch (at most 1 MiB).
   * @default 16
   */
  readonly maxBufferedEvents?: number;
}

/** `orderSettled` on Kafka: every subscription reads through a consumer and a consumer group of its own. */
export function createKafkaOrderSource(options: KafkaOrderSourceOptions): SettledOrderSource {
  const { kafka, topic, groupPrefix, cursorSecret, logger, maxBufferedEvents = 16 } = options;
  if (!Number.isSafeInteger(maxBufferedEvents) || maxBufferedEvents < 1) {
    throw new RangeError('maxBufferedEvents must be a positive integer');
  }
  const sessions = new Set<SubscriptionSession>();
  let closing = false;
  let admin: Promise<Admin> | undefined;
  let adminClosed = false;

  const sharedAdmin = (): Promise<Admin> => {
    if (adminClosed) return Promise.reject(new Error('the settled-order source is closed'));
    admin ??= (async () => {
      const client = kafka.admin();
      await client.connect();
      return client;
    })().catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    return admin;
  };

  async function* stream(
    session: SubscriptionSession,
    cancelled: AbortSignal,
    onReady?: () => void,
  ): AsyncGenerator<SettledOrderDelivery, void, undefined> {
    sessions.add(session);
    const cancel = () => void session.stop();
    cancelled.addEventListener('abort', cancel, { once: true });
    try {
      if (closing) throw new Error('the settled-order source is closed');
      if (cancelled.aborted || !(await session.start())) return;
      onReady?.();
      for (;;) {
        const handoff = await session.take();
        if (!handoff) return;
        yield handoff.value;
        // Resumed: graphql-ws wrote the value to the socket and asks for the next one.
        handoff.ack();
      }
    } finally {
      cancelled.removeEventListener('abort', cancel);
      await session.stop();
      sessions.delete(session);
    }
  }

  return {
    subscribe(request: SubscribeRequest): AsyncGenerator<SettledOrderDelivery, void, undefined> {
      const scope: CursorScope = { sub: request.caller.sub, topic };
      const durable = request.subscriberId !== undefined;
      const sessionOptions: SessionOptions = {
        kafka,
        admin: sharedAdmin,
        topic,
        groupId: durable ? durableGroupId(groupPrefix, scope.sub, request.subscriberId ?? '') : ephemeralGroupId(groupPrefix),
        ephemeral: !durable,
        start: startRequest(request.start, durable, (cursor) => decodeCursor(cursorSecret, cursor, scope)),
        filter: request.filter,
        sign: (positions) => encodeCursor(cursorSecret, scope, positions),
        logger,
        maxBufferedEvents,
      };
      const cancel = new AbortController();
      const generator = stream(new SubscriptionSession(sessionOptions), cancel.signal, request.onReady);
      // A generator waiting for its next record would only see return() or throw() once one arrived; wake it now.
      const [returnGenerator, throwGenerator] = [generator.return.bind(generator), generator.throw.bind(generator)];
      generator.return = (value) => {
        cancel.abort();
        return returnGenerator(value);
      };
      generator.throw = (error) => {
        cancel.abort();
        return throwGenerator(error);
      };
      return generator;
    },

    async close(): Promise<void> {
      closing = true;
      const open = [...sessions];
      await Promise.all(open.map((session) => session.stop()));
      for (const session of open) sessions.delete(session);
      adminClosed = true;
      const client = await admin?.catch(() => undefined);
      admin = undefined;
      await client?.disconnect();
    },

    get activeCount(): number {
      return sessions.size;
    },
  };
}

function startRequest(start: StartPosition, durable: boolean, verify: (cursor: string) => ReadonlyMap<number, bigint>): StartRequest {
  switch (start.kind) {
    case 'AFTER_CURSOR':
      return { kind: 'AFTER_CURSOR', positions: verify(start.cursor) };
    case 'SINCE':
      if (Number.isNaN(start.at.getTime())) throw badInput('since is not a valid instant', 'since');
      return start;
    case 'COMMITTED':
      // A new ephemeral group has no offsets: COMMITTED means LATEST there.
      return durable ? start : { kind: 'LATEST' };
    default:
      return start;
  }
}
