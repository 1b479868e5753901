import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { Order } from '../../domain/order.js';
import { parseOrderSettledEvent } from '../../domain/order-event.js';
import { matchesFilter } from '../../domain/order-filter.js';
import { type CursorScope, decodeCursor, encodeCursor } from '../../domain/subscription-cursor.js';
import { AppError, badInput } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { SettledOrderDelivery, SettledOrderSource, StartPosition, SubscribeRequest } from '../../ports/settled-order-source.js';
import { EphemeralGroupSweep } from '../../streaming/ephemeral-group-sweep.js';
import type { GroupLagEntry } from '../../streaming/group-lag.js';
import type { LogClient } from '../../streaming/log-client.js';
import type { StartRequest } from '../../streaming/start-positions.js';
import { SubscriptionLaggedError } from '../../streaming/stream-subscription.js';
import { createTopicStreams } from '../../streaming/topic-streams.js';
import {
  durableGroupId,
  ephemeralGroupId,
  isDurableGroupId,
  isEphemeralGroupId,
  presenceGroupId,
  presenceOwner,
} from './consumer-group-names.js';
import { createKafkaGroupInspector } from './kafka-group-inspector.js';
import { createKafkaWire } from './kafka-wire.js';

interface DecodedOrder {
  readonly eventId: string;
  readonly order: Order;
}

export interface KafkaOrderSourceOptions {
  /** The kafkajs client; its brokers, TLS, SASL, retries and logging are the caller's. */
  readonly kafka: Kafka;
  /** The topic of settled orders (`ORDERS_TOPIC`). */
  readonly topic: string;
  /** Prefix of every consumer group (`KAFKA_GROUP_PREFIX`). */
  readonly groupPrefix: string;
  /** Signs and verifies subscription cursors. */
  readonly cursorSecret: string;
  readonly logger: Logger;
  /** Records of each partition kept in memory; an ephemeral subscriber further behind is ended. @default 2000 */
  readonly windowRecords?: number;
  /** @default 1000 */
  readonly commitIntervalMs?: number;
  /** @default 3600000 */
  readonly offsetsRefreshMs?: number;
  /** Replaces the Kafka connection (tests). */
  readonly log?: LogClient;
  /** Told of subscriptions and deliveries (metrics). */
  readonly observer?: SubscriptionObserver;
  /** Follows the lag of the durable groups of `groupPrefix` (metrics); off when absent. */
  readonly lag?: {
    /** How often the groups no subscription of this process holds are listed and their offsets read. */
    readonly refreshMs: number;
    /** Most such groups followed. @default 1000 */
    readonly maxUnheld?: number;
  };
  /** Deletes the ephemeral groups of gateway processes that died (see `EphemeralGroupSweep`); off when absent. */
  readonly ephemeralSweep?: {
    /** Mean time between sweeps (each wait is 50-150% of it). */
    readonly sweepMs: number;
    /** A process whose presence commit is older than this is taken for gone. */
    readonly staleAfterMs: number;
  };
}

export type SubscriptionKind = 'durable' | 'ephemeral';

/** What the source reports as subscriptions come and go and events reach them. */
export interface SubscriptionObserver {
  /** A subscription began reading (its generator was first asked for a value). */
  opened(kind: SubscriptionKind): void;
  closed(kind: SubscriptionKind): void;
  /** One event was handed to a subscriber. */
  delivered(kind: SubscriptionKind): void;
  /** An ephemeral subscription fell further behind than the window keeps and was ended with SUBSCRIBER_TOO_SLOW. */
  lagged(): void;
}

export interface KafkaOrderSource extends SettledOrderSource {
  /** Starts the background work that needs no subscription: the presence commit and the sweep of abandoned groups. */
  start(): void;
  /** This process, as its commits' metadata names it. */
  readonly instanceId: string;
  /** The sweep of abandoned ephemeral groups, when `ephemeralSweep` was given (tests run one at will). */
  readonly sweep: EphemeralGroupSweep | undefined;
  /** The lag of every durable group followed (empty unless `lag` was given). */
  groupLag(): GroupLagEntry[];
}

/**
 * `orderSettled` on Kafka: one shared read of the topic, and for each subscription a consumer group of its own
 * (durable `<prefix>.<sub>.<subscriberId>`, ephemeral `<prefix>.ephemeral.<uuid>`).
 */
export function createKafkaOrderSource(options: KafkaOrderSourceOptions): KafkaOrderSource {
  const { topic, groupPrefix, cursorSecret, logger, observer } = options;
  const log = options.log ?? createKafkaWire(options.kafka);
  const instanceId = randomUUID();
  const sweep =
    options.ephemeralSweep &&
    new EphemeralGroupSweep({
      log,
      inspector: createKafkaGroupInspector(options.kafka, topic),
      topic,
      logger,
      instanceId,
      ...options.ephemeralSweep,
      isEphemeral: (groupId) => isEphemeralGroupId(groupPrefix, groupId),
      presenceGroup: (owner) => presenceGroupId(groupPrefix, owner),
      presenceOwner: (groupId) => presenceOwner(groupPrefix, groupId),
    });
  const streams = createTopicStreams<DecodedOrder>({
    log,
    topic,
    logger,
    instanceId,
    decode: (record) => {
      const event = parseOrderSettledEvent(record.value);
      if (event === null) {
        logger.warn(
          { partition: record.partition, offset: String(record.offset) },
          'skipping a record that is not a valid order.settled event',
        );
      }
      return event;
    },
    ...(options.windowRecords !== undefined && { windowRecords: options.windowRecords }),
    ...(options.commitIntervalMs !== undefined && { commitIntervalMs: options.commitIntervalMs }),
    ...(options.offsetsRefreshMs !== undefined && { offsetsRefreshMs: options.offsetsRefreshMs }),
    ...(options.lag && { lag: { ...options.lag, isTracked: (groupId: string) => isDurableGroupId(groupPrefix, groupId) } }),
  });
  const open = new Map<AbortController, AsyncGenerator<SettledOrderDelivery, void, undefined>>();

  async function* deliveries(
    request: SubscribeRequest,
    groupId: string,
    start: StartRequest,
    scope: CursorScope,
    cancel: AbortController,
  ): AsyncGenerator<SettledOrderDelivery, void, undefined> {
    const kind: SubscriptionKind = request.subscriberId !== undefined ? 'durable' : 'ephemeral';
    observer?.opened(kind);
    // Every line of this subscription names its group, and its connection and operation when the request has them.
    const lines = (request.logger ?? logger).child({ group: groupId });
    lines.info({ durable: kind === 'durable', start: request.start.kind, filter: request.filter }, 'subscription started');
    let delivered = 0;
    const source = streams.subscribe({
      logger: lines,
      groupId,
      kind,
      start,
      // One caller's replays cannot take every catch-up read from another's subscribers.
      caller: request.caller.sub,
      accept: (decoded) => matchesFilter(decoded.order, request.filter),
      // CONTRACT.md: a settled order's record is keyed by its account id.
      ...(request.filter.accountId !== undefined && { key: request.filter.accountId }),
      ...(request.onReady && { onReady: request.onReady }),
      signal: cancel.signal,
    });
    try {
      for await (const { item, positionsAfter } of source) {
        observer?.delivered(kind);
        delivered++;
        let cursor: string | undefined;
        yield {
          eventId: item.value.eventId,
          order: item.value.order,
          partition: item.partition,
          offset: String(item.offset),
          publishedAt: new Date(item.timestamp),
          // Signed only when read (the client selected it), not an HMAC per event per subscriber whatever it asked for.
          get cursor() {
            cursor ??= encodeCursor(cursorSecret, scope, positionsAfter);
            return cursor;
          },
        };
      }
    } catch (error) {
      if (error instanceof SubscriptionLaggedError) {
        observer?.lagged();
        throw new AppError(
          'SUBSCRIBER_TOO_SLOW',
          'this subscription fell too far behind the live stream and was ended; resubscribe with afterCursor set to the last cursor you received, or use a subscriberId',
          { cause: error },
        );
      }
      throw error;
    } finally {
      observer?.closed(kind);
      open.delete(cancel);
      lines.info({ delivered }, 'subscription ended');
    }
  }

  return {
    instanceId,
    sweep,

    start(): void {
      sweep?.start();
    },

    subscribe(request: SubscribeRequest): AsyncGenerator<SettledOrderDelivery, void, undefined> {
      const scope: CursorScope = { sub: request.caller.sub, topic };
      const durable = request.subscriberId !== undefined;
      const groupId = durable ? durableGroupId(groupPrefix, scope.sub, request.subscriberId ?? '') : ephemeralGroupId(groupPrefix);
      const start = startRequest(request.start, durable, (cursor) => decodeCursor(cursorSecret, cursor, scope));
      const cancel = new AbortController();
      const generator = deliveries(request, groupId, start, scope, cancel);
      open.set(cancel, generator);
      // A generator waiting for its next record would only see return() or throw() once one arrived; wake it now.
      const [returnGenerator, throwGenerator] = [generator.return.bind(generator), generator.throw.bind(generator)];
      generator.return = (value) => {
        cancel.abort();
        return returnGenerator(value).finally(() => open.delete(cancel));
      };
      generator.throw = (error) => {
        cancel.abort();
        return throwGenerator(error).finally(() => open.delete(cancel));
      };
      return generator;
    },

    finishAll(): void {
      for (const cancel of open.keys()) cancel.abort();
    },

    async close(): Promise<void> {
      // Also those already returning (a closed socket): their final commits must reach Kafka before it is closed.
      const generators = [...open.values()];
      await Promise.all(generators.map((generator) => generator.return(undefined).catch(() => undefined)));
      await streams.close();
      // After the streams: their ephemeral groups are deleted by then, so nothing of this process is left to sweep.
      await sweep?.stop();
      await log.close();
    },

    get activeCount(): number {
      return streams.activeCount;
    },

    groupLag: () => streams.groupLag(),
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
