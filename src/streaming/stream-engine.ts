import type { Logger } from '../logger.js';
import { CatchUpReads } from './catch-up-reads.js';
import { FairSlots } from './fair-slots.js';
import { GroupLag, type GroupLagEntry, type GroupLagOptions } from './group-lag.js';
import { type GroupKind, GroupOffsets } from './group-offsets.js';
import { keyedOnceAfterCall, latestOffsetsOnce } from './latest-offsets.js';
import type { LogClient, LogRecord } from './log-client.js';
import { retryTransient } from './retry-transient.js';
import { askStartFacts, planStartOffsets, type StartOffsets, type StartRequest } from './start-positions.js';
import { type StreamDelivery, StreamSubscription } from './stream-subscription.js';
import { TopicTail } from './topic-tail.js';

export interface StreamEngineOptions {
  readonly log: LogClient;
  readonly logger: Logger;
  /** This process, in the metadata of its offset commits. */
  readonly instanceId: string;
  /** Records kept per partition in memory; an ephemeral subscription further behind than this is ended. @default 2000 */
  readonly windowRecords?: number;
  /** Catch-up reads in flight at once, over every topic; one caller holds at most ceil(this / callers reading behind). @default 8 */
  readonly catchUpConcurrency?: number;
  /** @default 1000 */
  readonly commitIntervalMs?: number;
  /** OffsetCommit requests per second over every group (see GroupOffsetsOptions). @default 0 (no limit) */
  readonly commitsPerSecond?: number;
  /** Re-commit of unchanged offsets of connected durable groups, well within the broker's offsets.retention.minutes. @default 3600000 */
  readonly offsetsRefreshMs?: number;
  /** How long a topic's live read goes on after its last subscription ended (one coming back soon finds it warm). @default 30000 */
  readonly idleReadMs?: number;
  /** How often a subscription waiting for its topic to exist looks again. @default 1000 */
  readonly topicWaitMs?: number;
  /** Follows the lag of durable groups (for metrics); off when absent. */
  readonly lag?: Omit<GroupLagOptions, 'log' | 'logger'>;
}

/** How one topic's records become what its subscriptions receive. */
export interface TopicReading<T> {
  readonly topic: string;
  /** Record -> value; null to pass over the record (say why there). Runs once per record for the live read. */
  readonly decode: (record: LogRecord) => T | null;
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

/** The subscriptions of one topic, served by the process's engine. */
export interface TopicStreams<T> {
  readonly topic: string;
  /**
   * Waits for the topic to exist (a topic created later starts its waiting subscriptions at its beginning), then
   * delivers. Throws TopicDeletedError when the topic is deleted under it.
   */
  subscribe(request: StreamRequest<T>): AsyncGenerator<StreamDelivery<T>, void, undefined>;
  readonly activeCount: number;
}

export interface StreamEngine {
  /** Registers a topic (at start-up): its live read starts with its first subscription and stops after its last. */
  reading<T>(reading: TopicReading<T>): TopicStreams<T>;
  close(): Promise<void>;
  /** Open subscriptions over every topic. */
  readonly activeCount: number;
  /** The lag of every durable group followed, per topic (empty unless `lag` was given). */
  groupLag(): GroupLagEntry[];
}

/** The topic a subscription read was deleted. */
export class TopicDeletedError extends Error {
  constructor(readonly topic: string) {
    super(`the topic ${topic} was deleted`);
    this.name = 'TopicDeletedError';
  }
}

interface Reader {
  readonly topic: string;
  /** The live read, while subscriptions use it (and for idleReadMs after). */
  tail(): TopicTail<unknown> | undefined;
  readonly active: Set<StreamSubscription<unknown>>;
}

/**
 * Every subscription of the process, over any number of topics: one live read per topic that has subscriptions,
 * catch-up reads shared fairly between callers of every topic, and one keeper of consumer-group offsets (a durable
 * group following several topics holds offsets on each). Nothing in here knows what the records mean.
 */
export function createStreamEngine(options: StreamEngineOptions): StreamEngine {
  const { log, logger, windowRecords = 2000, catchUpConcurrency = 8, idleReadMs = 30_000, topicWaitMs = 1000 } = options;
  const catchUpSlots = new FairSlots<string>(catchUpConcurrency);
  const readers: Reader[] = [];
  const groups = new GroupOffsets({
    log,
    logger,
    instanceId: options.instanceId,
    commitIntervalMs: options.commitIntervalMs ?? 1000,
    ...(options.commitsPerSecond !== undefined && { commitsPerSecond: options.commitsPerSecond }),
    refreshMs: options.offsetsRefreshMs ?? 3_600_000,
    onReleased: (groupId, topic, offsets) => lag?.released(groupId, topic, offsets),
  });
  const lag =
    options.lag &&
    new GroupLag(
      { log, logger, ...options.lag },
      {
        held: () => groups.held(),
        ends: (topic) => {
          for (const reader of readers) {
            const tail = reader.topic === topic ? reader.tail() : undefined;
            if (tail && tail.partitions.length > 0) return new Map(tail.partitions.map((p) => [p, tail.window(p)?.end ?? 0n]));
          }
          return undefined;
        },
        topics: () => [...new Set(readers.map((reader) => reader.topic))],
      },
    );
  let closing = false;
  const closers: (() => Promise<void>)[] = [];

  function reading<T>({ topic, decode }: TopicReading<T>): TopicStreams<T> {
    const catchUp = new CatchUpReads<T>({ log, topic, decode, concurrency: catchUpConcurrency, slots: catchUpSlots });
    const watermarks = latestOffsetsOnce(() => log.watermarks(topic));
    // Subscriptions joining together with one `since` (a UI's page load, a fleet restarting) share the lookup.
    const offsetsAt = keyedOnceAfterCall((at: number) => log.offsetsAt(topic, new Date(at)));
    const active = new Set<StreamSubscription<T>>();
    let tail: TopicTail<T> | undefined;
    let users = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    let missingSaid = false;
    /** Known to exist since the live read last started: subscriptions then skip the lookup. */
    let exists = false;
    let existing: Promise<boolean> | undefined;
    // One lookup for the subscriptions arriving together.
    const lookUp = () =>
      (existing ??= log.topicExists(topic).finally(() => {
        existing = undefined;
      }));
    let catchUpFailureLoggedAt = 0;

    const liveTail = (): TopicTail<T> => {
      clearTimeout(idleTimer);
      idleTimer = undefined;
      tail ??= new TopicTail<T>({
        log,
        topic,
        decode,
        logger,
        windowRecords,
        isGone: async () => !(await log.topicExists(topic)),
        onGone: () => {
          tail = undefined;
          exists = false;
          missingSaid = false;
          for (const subscription of active) subscription.fail(new TopicDeletedError(topic));
        },
      });
      return tail;
    };
    const closeTail = async () => {
      clearTimeout(idleTimer);
      idleTimer = undefined;
      const closing = tail;
      tail = undefined;
      await closing?.close();
    };
    const released = () => {
      users--;
      if (users > 0 || closing) return;
      idleTimer = setTimeout(() => void closeTail(), idleReadMs);
      idleTimer.unref();
    };

    /** Resolves once the topic exists (true if it did not at first); undefined when given up. */
    async function untilTopicExists(request: StreamRequest<T>): Promise<boolean | undefined> {
      const lines = request.logger ?? logger;
      let waited = false;
      for (let failures = 0; !request.signal.aborted && !closing; ) {
        try {
          if (exists) return waited;
          if (await lookUp()) {
            exists = true;
            return waited;
          }
          waited = true;
          failures = 0;
          if (!missingSaid) {
            missingSaid = true;
            logger.warn({ topic }, 'a declared topic does not exist yet; its subscriptions wait for it');
          }
        } catch (error) {
          // Kafka away: wait for it as for the topic, saying so now and then.
          if (failures++ % 30 === 0) lines.warn({ err: error, topic }, 'subscription is waiting for Kafka to answer');
        }
        await abortableDelay(topicWaitMs, request.signal);
      }
      return undefined;
    }

    async function startPositions(request: StreamRequest<T>, fresh: boolean): Promise<StartOffsets> {
      const facts = await askStartFacts(request.start, {
        // Shared by the subscriptions arriving together, yet never older than the call: one request per burst.
        watermarks,
        offsetsAt: (at) => offsetsAt(at.getTime()),
        committed: async () => new Map([...(await log.committed(request.groupId, topic))].map(([p, { offset }]) => [p, offset])),
      });
      return planStartOffsets(request.start.kind, facts, fresh);
    }

    async function* stream(request: StreamRequest<T>): AsyncGenerator<StreamDelivery<T>, void, undefined> {
      const { groupId, kind, signal } = request;
      const lines = request.logger ?? logger;
      let subscription: StreamSubscription<T> | undefined;
      const abort = () => subscription?.end();
      signal.addEventListener('abort', abort, { once: true });
      users++;
      try {
        if (closing) throw new Error('the subscription engine is closed');
        const begun = Date.now();
        const fresh = await untilTopicExists(request);
        if (fresh === undefined) return;
        const live = liveTail();
        const { positions, seeks } = await retryTransient(
          async () => {
            await live.start();
            return startPositions(request, fresh);
          },
          () => signal.aborted || closing,
          (error, retryInMs) =>
            lines.warn({ err: error, topic, groupId, retryInMs }, 'subscription is waiting for the topic to be readable'),
        );
        if (signal.aborted || closing) return;
        if (live.gone) throw new TopicDeletedError(topic);
        subscription = new StreamSubscription<T>({
          tail: live,
          catchUp,
          start: positions,
          accept: request.accept,
          ...(request.caller !== undefined && { caller: request.caller }),
          ...(request.key !== undefined && { key: request.key }),
          catchUpWhenLagging: kind === 'durable',
          onReadFailed: (error) => {
            if (Date.now() - catchUpFailureLoggedAt < 10_000) return;
            catchUpFailureLoggedAt = Date.now();
            logger.warn({ err: error, topic, groupId }, 'a catch-up read failed; subscriptions behind the live read retry');
          },
          onMoved: (partition, from, to) =>
            lines.warn(
              { groupId, topic, partition, start: String(from), now: String(to) },
              'start position is no longer in the log; reading on from the earliest offset',
            ),
        });
        active.add(subscription);
        // COMMITTED that found every partition's offset in the group: it holds them already, nothing to write first.
        await groups.join(groupId, topic, kind, subscription, positions, request.start.kind === 'COMMITTED' && seeks.size === 0, signal);
        if (signal.aborted || closing) return;
        lines.debug({ groupId, topic, start: request.start.kind, readyMs: Date.now() - begun }, 'subscription ready');
        request.onReady?.();
        yield* subscription.deliveries();
      } finally {
        signal.removeEventListener('abort', abort);
        if (subscription) {
          active.delete(subscription);
          await groups.leave(groupId, topic, subscription);
        }
        released();
      }
    }

    const reader: Reader = { topic, tail: () => tail, active: active as Set<StreamSubscription<unknown>> };
    readers.push(reader);
    closers.push(async () => {
      for (const subscription of active) subscription.end();
      await closeTail();
    });
    return {
      topic,
      subscribe: stream,
      get activeCount() {
        return active.size;
      },
    };
  }

  groups.start();
  lag?.start();
  return {
    reading,
    async close() {
      closing = true;
      await Promise.all(closers.map((close) => close()));
      await groups.close();
      lag?.close();
    },
    groupLag: () => lag?.snapshot() ?? [],
    get activeCount() {
      let count = 0;
      for (const reader of readers) count += reader.active.size;
      return count;
    },
  };
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
