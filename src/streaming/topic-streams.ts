import type { Logger } from '../logger.js';
import { CatchUpReads } from './catch-up-reads.js';
import { GroupLag, type GroupLagEntry, type GroupLagOptions } from './group-lag.js';
import { type GroupKind, GroupOffsets } from './group-offsets.js';
import { keyedOnceAfterCall, latestOffsetsOnce } from './latest-offsets.js';
import type { LogClient, LogRecord } from './log-client.js';
import { retryTransient } from './retry-transient.js';
import { askStartFacts, planStartOffsets, type StartOffsets, type StartRequest } from './start-positions.js';
import { type StreamDelivery, StreamSubscription } from './stream-subscription.js';
import { TopicTail } from './topic-tail.js';

export interface TopicStreamsOptions<T> {
  readonly log: LogClient;
  readonly topic: string;
  /** Record -> value; null to pass over the record (log why there). Runs once per record for the live read. */
  readonly decode: (record: LogRecord) => T | null;
  readonly logger: Logger;
  /** This process, in the metadata of its offset commits. */
  readonly instanceId: string;
  /** Records kept per partition in memory; an ephemeral subscription further behind than this is ended. @default 2000 */
  readonly windowRecords?: number;
  /** Catch-up reads in flight at once; one caller holds at most ceil(this / callers reading behind). @default 8 */
  readonly catchUpConcurrency?: number;
  /** @default 1000 */
  readonly commitIntervalMs?: number;
  /** Re-commit of unchanged offsets of connected durable groups, well within the broker's offsets.retention.minutes. @default 3600000 */
  readonly offsetsRefreshMs?: number;
  /** Follows the lag of durable groups (for metrics); off when absent. */
  readonly lag?: Omit<GroupLagOptions, 'log' | 'topic' | 'logger'>;
}

export interface StreamRequest<T> {
  readonly groupId: string;
  readonly kind: GroupKind;
  readonly start: StartRequest;
  readonly accept: (value: T) => boolean;
  /** Who subscribes (a token's `sub`): the catch-up reads are shared fairly between callers. @default one caller for all */
  readonly caller?: string;
  /** Only records with this Kafka key can be accepted (lets the engine wake the subscription for those only). */
  readonly key?: string;
  /** Called once the start positions are fixed and the group holds them: whatever is appended from then on arrives. */
  readonly onReady?: () => void;
  /** Aborting ends the subscription, waking it if it waits. */
  readonly signal: AbortSignal;
  /** This subscription's own lines go here. @default the engine's logger */
  readonly logger?: Logger;
}

export interface TopicStreams<T> {
  subscribe(request: StreamRequest<T>): AsyncGenerator<StreamDelivery<T>, void, undefined>;
  close(): Promise<void>;
  readonly activeCount: number;
  readonly topic: string;
  /** The lag of every durable group followed (empty unless `lag` was given). */
  groupLag(): GroupLagEntry[];
}

/**
 * Subscriptions to one topic, any number of them: one live read of the topic for all, a consumer group of each
 * one's own whose offsets Kafka's tools can read and reset. Nothing in here knows what the records mean.
 */
export function createTopicStreams<T>(options: TopicStreamsOptions<T>): TopicStreams<T> {
  const { log, topic, decode, logger, windowRecords = 2000, catchUpConcurrency = 8 } = options;
  const tail = new TopicTail<T>({ log, topic, decode, logger, windowRecords });
  const catchUp = new CatchUpReads<T>({ log, topic, decode, concurrency: catchUpConcurrency });
  const groups = new GroupOffsets({
    log,
    topic,
    logger,
    instanceId: options.instanceId,
    commitIntervalMs: options.commitIntervalMs ?? 1000,
    refreshMs: options.offsetsRefreshMs ?? 3_600_000,
    onReleased: (groupId, offsets) => lag?.released(groupId, offsets),
  });
  const lag =
    options.lag &&
    new GroupLag(
      { log, topic, logger, ...options.lag },
      {
        held: () => groups.held(),
        ends: () => (tail.partitions.length === 0 ? undefined : new Map(tail.partitions.map((p) => [p, tail.window(p)?.end ?? 0n]))),
      },
    );
  const watermarks = latestOffsetsOnce(() => log.watermarks(topic));
  // Subscriptions joining together with one `since` (a UI's page load, a fleet restarting) share the lookup.
  const offsetsAt = keyedOnceAfterCall((at: number) => log.offsetsAt(topic, new Date(at)));
  const active = new Set<StreamSubscription<T>>();
  let catchUpFailureLoggedAt = 0;
  const logCatchUpFailure = (error: unknown, groupId: string) => {
    if (Date.now() - catchUpFailureLoggedAt < 10_000) return;
    catchUpFailureLoggedAt = Date.now();
    logger.warn({ err: error, topic, groupId }, 'a catch-up read failed; subscriptions behind the live read retry');
  };
  let closing = false;

  async function startPositions(request: StreamRequest<T>): Promise<StartOffsets> {
    const facts = await askStartFacts(request.start, {
      // Shared by the subscriptions arriving together, yet never older than the call: one request per burst.
      watermarks,
      offsetsAt: (at) => offsetsAt(at.getTime()),
      committed: async () => new Map([...(await log.committed(request.groupId, topic))].map(([p, { offset }]) => [p, offset])),
    });
    return planStartOffsets(request.start.kind, facts);
  }

  async function* stream(request: StreamRequest<T>): AsyncGenerator<StreamDelivery<T>, void, undefined> {
    const { groupId, kind, signal } = request;
    const lines = request.logger ?? logger;
    const abort = () => subscription?.end();
    signal.addEventListener('abort', abort, { once: true });
    let subscription: StreamSubscription<T> | undefined;
    try {
      if (closing) throw new Error('the subscription engine is closed');
      const begun = Date.now();
      const { positions, seeks } = await retryTransient(
        async () => {
          await tail.start();
          return startPositions(request);
        },
        () => signal.aborted || closing,
        (error, retryInMs) => lines.warn({ err: error, topic, groupId, retryInMs }, 'subscription is waiting for the topic to be readable'),
      );
      if (signal.aborted || closing) return;
      subscription = new StreamSubscription<T>({
        tail,
        catchUp,
        start: positions,
        accept: request.accept,
        ...(request.caller !== undefined && { caller: request.caller }),
        ...(request.key !== undefined && { key: request.key }),
        catchUpWhenLagging: kind === 'durable',
        onReadFailed: (error) => logCatchUpFailure(error, groupId),
        onMoved: (partition, from, to) =>
          lines.warn(
            { groupId, partition, start: String(from), now: String(to) },
            'start position is no longer in the log; reading on from the earliest offset',
          ),
      });
      active.add(subscription);
      // COMMITTED that found every partition's offset in the group: it holds them already, nothing to write first.
      await groups.join(groupId, kind, subscription, positions, request.start.kind === 'COMMITTED' && seeks.size === 0, signal);
      if (signal.aborted || closing) return;
      lines.debug({ groupId, start: request.start.kind, readyMs: Date.now() - begun }, 'subscription ready');
      request.onReady?.();
      yield* subscription.deliveries();
    } finally {
      signal.removeEventListener('abort', abort);
      if (subscription) {
        active.delete(subscription);
        await groups.leave(groupId, subscription);
      }
    }
  }

  groups.start();
  lag?.start();
  return {
    topic,
    subscribe: stream,
    async close() {
      closing = true;
      for (const subscription of active) subscription.end();
      await tail.close();
      await groups.close();
      lag?.close();
    },
    groupLag: () => lag?.snapshot() ?? [],
    get activeCount() {
      return active.size;
    },
  };
}
