import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { type CursorScope, decodeCursor, encodeCursor } from '../../domain/subscription-cursor.js';
import { AppError, badInput } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { StartPosition, SubscribeRequest, TopicEvent, TopicEventSource } from '../../ports/topic-event-source.js';
import { EphemeralGroupSweep } from '../../streaming/ephemeral-group-sweep.js';
import type { GroupLagEntry } from '../../streaming/group-lag.js';
import type { LogClient } from '../../streaming/log-client.js';
import type { StartRequest } from '../../streaming/start-positions.js';
import { createStreamEngine, TopicDeletedError, type TopicStreams } from '../../streaming/stream-engine.js';
import { SubscriptionLaggedError } from '../../streaming/stream-subscription.js';
import { type DeclaredTopic, type RecordRejection, type TopicRecordValue, topicRecordReader } from '../../subscriptions/declared-topics.js';
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

export interface KafkaTopicSourceOptions {
  /** The kafkajs client; its brokers, TLS, SASL, retries and logging are the caller's. */
  readonly kafka: Kafka;
  /** The declared fields, in the schema's order; the first one's topic also carries this process's presence commits. */
  readonly topics: readonly DeclaredTopic[];
  /** Told of every record of a declared topic that does not fit its declaration (it is skipped). */
  readonly rejected?: (rejection: RecordRejection) => void;
  /** Prefix of every consumer group (`KAFKA_GROUP_PREFIX`). */
  readonly groupPrefix: string;
  /** Signs and verifies subscription cursors. */
  readonly cursorSecret: string;
  readonly logger: Logger;
  /** Records of each partition kept in memory; an ephemeral subscriber further behind is ended. @default 2000 */
  readonly windowRecords?: number;
  /** @default 1000 */
  readonly commitIntervalMs?: number;
  /** OffsetCommit requests per second over every group; 0 for no limit. @default 0 */
  readonly commitsPerSecond?: number;
  /** @default 3600000 */
  readonly offsetsRefreshMs?: number;
  /** How long a topic's live read goes on after its last subscription. @default 30000 */
  readonly idleReadMs?: number;
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

export interface KafkaTopicSource extends TopicEventSource {
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
 * Every declared Subscription field on Kafka: one engine (one live read per topic with subscribers), and for each
 * subscription a consumer group of its own (durable `<prefix>.<sub>.<subscriberId>`, ephemeral `<prefix>.ephemeral.<uuid>`).
 */
export function createKafkaTopicSource(options: KafkaTopicSourceOptions): KafkaTopicSource {
  const { groupPrefix, cursorSecret, logger, observer } = options;
  const log = options.log ?? createKafkaWire(options.kafka);
  const instanceId = randomUUID();
  const presenceTopic = options.topics[0]?.declaration.topic;
  const sweep =
    options.ephemeralSweep && presenceTopic !== undefined
      ? new EphemeralGroupSweep({
          log,
          inspector: createKafkaGroupInspector(options.kafka),
          topic: presenceTopic,
          logger,
          instanceId,
          ...options.ephemeralSweep,
          isEphemeral: (groupId) => isEphemeralGroupId(groupPrefix, groupId),
          presenceGroup: (owner) => presenceGroupId(groupPrefix, owner),
          presenceOwner: (groupId) => presenceOwner(groupPrefix, groupId),
        })
      : undefined;
  const engine = createStreamEngine({
    log,
    logger,
    instanceId,
    ...(options.windowRecords !== undefined && { windowRecords: options.windowRecords }),
    ...(options.commitIntervalMs !== undefined && { commitIntervalMs: options.commitIntervalMs }),
    ...(options.commitsPerSecond !== undefined && { commitsPerSecond: options.commitsPerSecond }),
    ...(options.offsetsRefreshMs !== undefined && { offsetsRefreshMs: options.offsetsRefreshMs }),
    ...(options.idleReadMs !== undefined && { idleReadMs: options.idleReadMs }),
    ...(options.lag && { lag: { ...options.lag, isTracked: (groupId: string) => isDurableGroupId(groupPrefix, groupId) } }),
  });
  const rejected = options.rejected ?? (() => {});
  const fields = new Map<string, { readonly topic: string; readonly streams: TopicStreams<TopicRecordValue> }>(
    options.topics.map((declared) => [
      declared.declaration.field,
      {
        topic: declared.declaration.topic,
        streams: engine.reading({ topic: declared.declaration.topic, decode: topicRecordReader(declared, rejected) }),
      },
    ]),
  );
  const open = new Map<AbortController, AsyncGenerator<TopicEvent, void, undefined>>();

  async function* deliveries(
    streams: TopicStreams<TopicRecordValue>,
    field: string,
    request: SubscribeRequest,
    groupId: string,
    start: StartRequest,
    scope: CursorScope,
    cancel: AbortController,
  ): AsyncGenerator<TopicEvent, void, undefined> {
    const kind: SubscriptionKind = request.subscriberId !== undefined ? 'durable' : 'ephemeral';
    observer?.opened(kind);
    // Every line of this subscription names its group, and its connection and operation when the request has them.
    const lines = (request.logger ?? logger).child({ group: groupId });
    lines.info(
      { field, topic: scope.topic, durable: kind === 'durable', start: request.start.kind, filter: request.filter },
      'subscription started',
    );
    let delivered = 0;
    let revokedWith: unknown;
    const revoke = () => {
      revokedWith = request.revoked?.reason;
      cancel.abort();
    };
    if (request.revoked?.aborted) revoke();
    else request.revoked?.addEventListener('abort', revoke, { once: true });
    const source = streams.subscribe({
      logger: lines,
      groupId,
      kind,
      start,
      // One caller's replays cannot take every catch-up read from another's subscribers.
      caller: request.caller.sub,
      accept: (value) => request.accept(value.payload),
      ...(request.key !== undefined && { key: request.key }),
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
          payload: item.value.payload,
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
      if (revokedWith !== undefined) throw revokedWith;
    } catch (error) {
      if (error instanceof SubscriptionLaggedError) {
        observer?.lagged();
        throw new AppError(
          'SUBSCRIBER_TOO_SLOW',
          'this subscription fell too far behind the live stream and was ended; resubscribe with afterCursor set to the last cursor you received, or use a subscriberId',
          { cause: error },
        );
      }
      if (error instanceof TopicDeletedError) {
        throw new AppError('TOPIC_DELETED', `the Kafka topic behind ${field} was deleted; subscribing again waits until it exists again`, {
          cause: error,
        });
      }
      throw error;
    } finally {
      request.revoked?.removeEventListener('abort', revoke);
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

    subscribe(field: string, request: SubscribeRequest): AsyncGenerator<TopicEvent, void, undefined> {
      const served = fields.get(field);
      if (!served) throw new Error(`${field} is not a declared subscription field`);
      const scope: CursorScope = { sub: request.caller.sub, topic: served.topic };
      const durable = request.subscriberId !== undefined;
      const groupId = durable ? durableGroupId(groupPrefix, scope.sub, request.subscriberId ?? '') : ephemeralGroupId(groupPrefix);
      const start = startRequest(request.start, durable, (cursor) => decodeCursor(cursorSecret, cursor, scope));
      const cancel = new AbortController();
      const generator = deliveries(served.streams, field, request, groupId, start, scope, cancel);
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
      await engine.close();
      // After the streams: their ephemeral groups are deleted by then, so nothing of this process is left to sweep.
      await sweep?.stop();
      await log.close();
    },

    get activeCount(): number {
      return engine.activeCount;
    },

    groupLag: () => engine.groupLag(),
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
