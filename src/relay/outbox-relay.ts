import type { Logger } from '../logger.js';
import type { OutboxLease, OutboxStore, PendingRecord, RecordPublisher } from '../ports/outbox.js';

export interface OutboxRelayOptions {
  store: OutboxStore;
  publisher: RecordPublisher;
  logger: Logger;
  /** Records per send. @default 500 */
  batchSize?: number;
  /** Safety-net poll, and how often a standby tries to take the lease. @default 1000 */
  pollMs?: number;
  /**
   * Shortest time from one read to the next while records keep coming: under load the next read waits this long after
   * the last one, so it finds more records (fewer reads, Kafka requests and marks per record). A read after an idle
   * wait, or after a full batch, goes at once. 0 reads again as soon as a batch is acknowledged. @default 5
   */
  lingerMs?: number;
  /**
   * Asks for wakes before the relay goes to sleep. Called when a read found nothing, just before the relay reads
   * once more and then sleeps: a commit from here on must call wake(), one before it is seen by that read. Reads
   * while records keep coming do not call it, so a busy relay is never woken. Given, that extra read is made; the
   * relay's thread posts wakes only while this stands (relay-worker.ts). Without it, every commit wakes the relay.
   */
  armWake?: () => void;
  /** Longest wait between retries while Kafka fails. @default 5000 */
  maxBackoffMs?: number;
  /** Told of every send (metrics). */
  observer?: RelayObserver;
}

/** What the relay reports of its sends to Kafka. */
export interface RelayObserver {
  /** Kafka acknowledged a send of `records` records, `seconds` after it went out. */
  published(records: number, seconds: number): void;
  /** A send failed; its records are sent again. */
  publishFailed(): void;
}

export interface OutboxRelay {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly isActive: boolean;
  readonly pending: number;
  /** Outbox records committed: publish them soon. The same as a NOTIFY, for a caller in this process. */
  wake(): void;
}

/**
 * Moves committed outbox records to Kafka. Exactly one relay publishes at a
 * time (the lease); it reads unpublished rows in id order rather than a
 * position, so a transaction that commits late is still picked up, and marks
 * rows only after Kafka acknowledged them: a record repeats (same eventId) only
 * if the relay dies between the ack and the mark.
 */
export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { store, publisher, logger, observer } = options;
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 1000;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const lingerMs = options.lingerMs ?? 5;
  const { armWake } = options;

  let stopped = false;
  let lease: OutboxLease | null = null;
  let pending = 0;
  let wakeUp: (() => void) | null = null;
  let woken = false;
  let loop: Promise<void> | null = null;
  let listener: { stop(): Promise<void> } | null = null;
  let listening: Promise<void> = Promise.resolve();

  let backingOff = false;
  // A commit cuts the idle wait short, but not the backoff while Kafka fails.
  const wake = () => {
    woken = true;
    if (!backingOff) wakeUp?.();
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if ((woken && !backingOff) || stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      }
      wakeUp = done;
    });

  // The linger between passes: only stop() cuts it short (a commit's wake would undo it, and commits are what it waits for).
  let endPause: (() => void) | null = null;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        endPause = null;
        resolve();
      }
      endPause = done;
    });

  const dropLease = async (reason: string, error?: unknown) => {
    if (!lease) return;
    if (error === undefined) logger.info(`outbox relay gave up its lease: ${reason}`);
    else logger.warn({ err: error }, `outbox relay gave up its lease: ${reason}`);
    const current = lease;
    lease = null;
    await current.release().catch(() => {});
  };

  /** The lease, taking it if free; null when another relay holds it. */
  async function holdLease(): Promise<OutboxLease | null> {
    if (lease) return lease;
    lease = await store.tryLease().catch((error: unknown) => {
      logger.warn({ err: error }, 'outbox relay could not ask for the lease');
      return null;
    });
    if (lease) logger.info('outbox relay is active on this process');
    return lease;
  }

  /** Unpublished records, oldest first; false when the lease's connection failed (the lease is then dropped). */
  async function read(held: OutboxLease, reading: Promise<PendingRecord[]>): Promise<PendingRecord[] | false> {
    try {
      const batch = await reading;
      pending = batch.length === batchSize ? await held.countPending() : batch.length;
      return batch;
    } catch (error) {
      await dropLease('its database connection failed', error);
      return false;
    }
  }

  async function run(): Promise<void> {
    let backoffMs = 100;
    // The read that went out with the last mark, on the same connection (so it runs after the mark).
    let next: Promise<PendingRecord[]> | null = null;
    let readSentAt = 0;
    // Whether armWake was called since the last read that found records.
    let armed = false;
    const sendRead = (held: OutboxLease) => {
      woken = false;
      readSentAt = performance.now();
      return held.pending(batchSize);
    };
    while (!stopped) {
      const held = await holdLease();
      if (!held) {
        await sleep(pollMs);
        continue;
      }
      const batch = await read(held, next ?? sendRead(held));
      next = null;
      if (batch === false) continue;
      if (batch.length === 0) {
        if (armWake && !armed) {
          armed = true;
          armWake();
          continue;
        }
        await sleep(pollMs);
        // Armed again before the next sleep: the wake that ended this one may be a commit the last reads already
        // published (its caller learnt of the commit after the relay read the row), and it used up the arming.
        armed = false;
        continue;
      }
      armed = false;
      const sentAt = performance.now();
      try {
        await publisher.publish(batch);
        observer?.published(batch.length, (performance.now() - sentAt) / 1000);
        backoffMs = 100;
      } catch (error) {
        observer?.publishFailed();
        // The send's outcome is unknown: a fresh producer, then the same rows again.
        logger.warn({ err: error, pending, retryInMs: backoffMs }, 'outbox relay could not publish; will retry');
        await publisher.reset();
        backingOff = true;
        await sleep(backoffMs);
        backingOff = false;
        backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
        continue;
      }
      // The mark and the next read go out together, after the linger: one round trip instead of two. PostgreSQL
      // runs a connection's statements in order, so the read already sees these rows as published.
      const ackedAt = performance.now();
      if (batch.length < batchSize) await pause(readSentAt + lingerMs - ackedAt);
      const marking = held.markPublished(
        batch.map((r) => r.id),
        performance.now() - ackedAt,
      );
      const reading = sendRead(held);
      reading.catch(() => {}); // awaited below, or dropped with the lease
      try {
        await marking;
        pending -= batch.length;
        next = reading;
      } catch (error) {
        // Already on Kafka; the next relay publishes these rows again under the same eventIds.
        await dropLease('marking published records failed', error);
      }
    }
  }

  /** LISTEN for other processes' commits; until it works (the database may be away at start), the poll covers. */
  async function listenForCommits(): Promise<void> {
    for (let attempt = 1; !stopped; attempt++) {
      try {
        listener = await store.onCommit(wake);
        return;
      } catch (error) {
        if (attempt === 1) logger.warn({ err: error }, 'outbox relay could not listen for commits; polling until it can');
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    }
  }

  return {
    async start() {
      listening = listenForCommits();
      loop = run().catch((error: unknown) => logger.error({ err: error }, 'outbox relay stopped unexpectedly'));
    },
    async stop() {
      stopped = true;
      wakeUp?.();
      endPause?.();
      // A send stuck in kafkajs's retries would hold shutdown for tens of seconds: disconnecting fails it
      // at once, and its rows stay unpublished for the next relay (same eventIds if they did land).
      const graceful = await Promise.race([loop?.then(() => true), new Promise((r) => setTimeout(() => r(false), 1000).unref())]);
      if (!graceful) await publisher.close();
      await loop;
      await listening;
      await listener?.stop().catch(() => {});
      await dropLease('the gateway is stopping');
      await publisher.close();
    },
    get isActive() {
      return lease !== null;
    },
    get pending() {
      return pending;
    },
    wake,
  };
}
