import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { OrderFilter } from '../../domain/order-filter.js';
import type { CursorPositions } from '../../domain/subscription-cursor.js';
import type { Logger } from '../../logger.js';
import type { SettledOrderDelivery } from '../../ports/settled-order-source.js';
import { createBatchHandler } from './batch-handler.js';
import { HEARTBEAT_INTERVAL_MS, SUBSCRIPTION_CONSUMER_SETTINGS } from './consumer-settings.js';
import { DeliveryChannel, type Handoff } from './delivery-channel.js';
import { deleteEphemeralGroup } from './ephemeral-group-cleanup.js';
import { PendingStarts } from './pending-starts.js';
import { retryTransient } from './retry-transient.js';
import { fetchStartOffsets, type StartRequest } from './start-offsets.js';
import { SubscriptionPositions } from './subscription-positions.js';

export interface SessionOptions {
  readonly kafka: Kafka;
  readonly admin: () => Promise<Admin>;
  readonly topic: string;
  readonly groupId: string;
  readonly ephemeral: boolean;
  readonly start: StartRequest;
  readonly filter: OrderFilter;
  readonly sign: (positions: CursorPositions) => string;
  readonly logger: Logger;
  readonly maxBufferedEvents: number;
}

/** One subscription's own kafkajs consumer, from joining its group to leaving (and deleting) it. */
export class SubscriptionSession {
  readonly #options: SessionOptions;
  readonly #channel = new DeliveryChannel<SettledOrderDelivery>();
  readonly #unlisten: (() => void)[] = [];
  #consumer: Consumer | undefined;
  #starting: Promise<boolean> | undefined;
  #stopped: Promise<void> | undefined;
  #settleReady: ((ready: boolean) => void) | undefined;
  #stopping = false;
  #fetches = 0;
  #joins = 0;
  #failure: Error | undefined;

  constructor(options: SessionOptions) {
    this.#options = options;
  }

  /** Joins the group and fixes the start positions; false when stopped first. Throws if the consumer failed. */
  start(): Promise<boolean> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  take(): Promise<Handoff<SettledOrderDelivery> | undefined> {
    return this.#channel.take();
  }

  /** Refuses what was not acknowledged, lets kafkajs commit what was, leaves the group, deletes an ephemeral one. */
  stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopping = true;
      this.#stopped = this.#stop();
    }
    return this.#stopped;
  }

  async #start(): Promise<boolean> {
    const { kafka, topic, groupId, start, logger } = this.#options;
    const begun = Date.now();
    const admin = await this.#options.admin();
    if (this.#stopping) return false;
    const { positions, seeks } = await retryTransient(
      () => fetchStartOffsets(admin, topic, groupId, start),
      () => this.#stopping,
      (error, retryInMs) => logger.warn({ err: error, topic, groupId, retryInMs }, 'subscription is waiting for the topic to be readable'),
    );
    if (this.#stopping) return false;

    const consumer = kafka.consumer({
      groupId,
      ...SUBSCRIPTION_CONSUMER_SETTINGS,
      // kafkajs restarts a consumer after a retriable crash; one restarting while the subscription ends would be
      // left running, out of reach of the disconnect that already happened.
      retry: { retries: 5, restartOnFailure: async () => !this.#stopping },
    });
    this.#consumer = consumer;
    const starts = new PendingStarts(seeks);
    const ready = this.#watch(consumer, starts);
    await consumer.connect();
    // fromBeginning only applies where neither a seek nor a commit says where to start: rather repeat than skip.
    await consumer.subscribe({ topic, fromBeginning: true });
    if (this.#stopping) return false;
    await consumer.run({
      // kafkajs commits only offsets the handler resolved, i.e. acknowledged or skipped records.
      autoCommit: true,
      autoCommitInterval: 1_000,
      eachBatchAutoResolve: false,
      eachBatch: createBatchHandler({
        channel: this.#channel,
        positions: new SubscriptionPositions(positions, this.#options.sign),
        filter: this.#options.filter,
        logger,
        maxBufferedEvents: this.#options.maxBufferedEvents,
        heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
        stopping: () => this.#stopping,
        fetchNumber: () => this.#fetches,
        joins: () => this.#joins,
        admit: async (partition, fetchedOffset) => {
          if (fetchedOffset === undefined) return true;
          const verdict = await starts.onBatch(partition, fetchedOffset, (p) => this.#earliestOffset(p));
          if (verdict.kind === 'seek') {
            logger.warn(
              { groupId, partition, start: String(verdict.offset), fetchedOffset: String(fetchedOffset) },
              'start position was not applied; seeking again',
            );
            consumer.seek({ topic, partition, offset: verdict.offset.toString() });
            return false;
          }
          if (verdict.kind === 'moved') {
            logger.warn(
              { groupId, partition, start: String(verdict.expected), fetchedOffset: String(fetchedOffset) },
              'start position is no longer in the log; reading on from the earliest offset',
            );
          }
          return true;
        },
      }),
    });
    const isReady = await ready;
    if (this.#failure) throw this.#failure;
    if (isReady) logger.info({ groupId, start: start.kind, readyMs: Date.now() - begun }, 'subscription ready');
    return isReady;
  }

  /**
   * Ready once joined: each partition then starts at a position fixed before joining (a seek below), its committed
   * offset, or the earliest one, so any record appended later is read. kafkajs commits the seeks on its first fetch.
   */
  #watch(consumer: Consumer, starts: PendingStarts): Promise<boolean> {
    const { topic, logger } = this.#options;
    const ready = new Promise<boolean>((resolve) => {
      this.#settleReady = resolve;
    });
    this.#unlisten.push(
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        this.#joins++;
        for (const { partition, offset } of starts.onJoin(payload.memberAssignment[topic] ?? [])) {
          consumer.seek({ topic, partition, offset: offset.toString() });
        }
        this.#settleReady?.(true);
      }),
      consumer.on(consumer.events.FETCH, () => {
        this.#fetches++;
      }),
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        logger.warn({ err: payload.error, restart: payload.restart }, 'subscription consumer crashed');
        if (payload.restart) return;
        this.#failure = new Error('the subscription consumer stopped', { cause: payload.error });
        this.#channel.end(this.#failure);
        this.#settleReady?.(false);
      }),
    );
    if (this.#stopping) this.#settleReady?.(false);
    return ready;
  }

  async #earliestOffset(partition: number): Promise<bigint | undefined> {
    const marks = await (await this.#options.admin()).fetchTopicOffsets(this.#options.topic);
    const low = marks.find((m) => m.partition === partition)?.low;
    return low === undefined ? undefined : BigInt(low);
  }

  async #stop(): Promise<void> {
    const { groupId, ephemeral, logger } = this.#options;
    this.#channel.end();
    this.#settleReady?.(false);
    await this.#starting?.catch(() => false);
    const consumer = this.#consumer;
    if (!consumer) return;
    await consumer.disconnect().catch((error: unknown) => logger.warn({ err: error, groupId }, 'consumer disconnect failed'));
    for (const unlisten of this.#unlisten.splice(0)) unlisten();
    if (ephemeral) {
      await this.#options
        .admin()
        .then((admin) => deleteEphemeralGroup(admin, groupId, logger))
        .catch((error: unknown) => logger.warn({ err: error, groupId }, 'could not delete an ephemeral consumer group'));
    }
  }
}
