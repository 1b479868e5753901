import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import { type LogClient, type LogRecord, OffsetOutOfRangeError } from './log-client.js';
import { PartitionWindow, type StreamItem } from './partition-window.js';

export interface TopicTailOptions<T> {
  readonly log: LogClient;
  readonly topic: string;
  /** Turns a record into what subscriptions receive; null (after logging why) to pass over it. Called once per record. */
  readonly decode: (record: LogRecord) => T | null;
  readonly logger: Logger;
  /** Records kept per partition for subscriptions to read. */
  readonly windowRecords: number;
  /** How long one fetch waits on the broker for new records. @default 500 */
  readonly maxWaitMs?: number;
  /** @default 1 MiB */
  readonly maxBytesPerPartition?: number;
  /** Asked while reads keep failing: true when the topic no longer exists (a failed answer counts as false). */
  readonly isGone?: () => Promise<boolean>;
  /** The topic was found deleted: the read has stopped, and `gone` is true. */
  readonly onGone?: () => void;
}

export function toStreamItem<T>(record: LogRecord, decode: (record: LogRecord) => T | null): StreamItem<T> {
  return {
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: record.key === null ? null : record.key.toString(),
    value: decode(record),
  };
}

/**
 * The one live read of a topic in this process: fetches from the end of every partition and appends to a window per
 * partition that every subscription reads from. Nothing a subscription does can slow it down.
 */
export class TopicTail<T> {
  readonly #options: TopicTailOptions<T>;
  readonly #windows = new Map<number, PartitionWindow<T>>();
  #started: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  #gone = false;
  /** Waiters for any record. */
  #waiting: (() => void)[] = [];
  /** Waiters that only care about records with one key: woken by such a record, or by the next sweep. */
  readonly #keyed = new Map<string, (() => void)[]>();
  #sinceSweep = 0;
  #sweptAt = Date.now();
  /** Sweeps still waking their waiters after the read went on (close() waits for them). */
  readonly #sweeping = new Set<Promise<void>>();

  constructor(options: TopicTailOptions<T>) {
    this.#options = options;
  }

  /** Starts reading at the current end of each partition; rejects (and may be called again) while the topic is unreadable. */
  start(): Promise<void> {
    this.#started ??= this.#start().catch((error: unknown) => {
      this.#started = undefined;
      throw error;
    });
    return this.#started;
  }

  /** The topic was deleted under the live read, which has stopped. */
  get gone(): boolean {
    return this.#gone;
  }

  get partitions(): number[] {
    return [...this.#windows.keys()];
  }

  window(partition: number): PartitionWindow<T> | undefined {
    return this.#windows.get(partition);
  }

  /**
   * Resolves once more records were appended (or the tail closed). With a key, once a record with that key was, or
   * the next sweep (at least every second, and before a window could turn over) lets the waiter move past the
   * records of other keys: a thousand subscribers of one account each are not woken by every other account's record.
   */
  appended(key?: string): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      if (key === undefined) {
        this.#waiting.push(resolve);
        return;
      }
      const waiters = this.#keyed.get(key);
      if (waiters) waiters.push(resolve);
      else this.#keyed.set(key, [resolve]);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#notify();
    await this.#loop;
    await Promise.all([...this.#sweeping]);
  }

  async #start(): Promise<void> {
    const { log, topic, windowRecords } = this.#options;
    const marks = await log.watermarks(topic);
    if (marks.size === 0) throw new Error(`topic ${topic} has no partitions`);
    for (const [partition, { high }] of marks) this.#windows.set(partition, new PartitionWindow<T>(high, windowRecords));
    this.#loop = this.#run();
  }

  async #run(): Promise<void> {
    const { log, topic, decode, logger, windowRecords, maxWaitMs = 500, maxBytesPerPartition = 1 << 20 } = this.#options;
    for (let failures = 0; !this.#closed; ) {
      try {
        const ends = new Map([...this.#windows].map(([partition, window]) => [partition, window.end]));
        const fetched = await log.tail(topic, ends, maxWaitMs, maxBytesPerPartition);
        let grew = false;
        const keys = new Set<string>();
        let mostInOnePartition = 0;
        for (const { partition, records, next } of fetched) {
          const window = this.#windows.get(partition);
          if (!window || this.#closed) continue;
          const before = window.end;
          const items = records.map((record) => toStreamItem(record, decode));
          for (const item of items) if (item.key !== null) keys.add(item.key);
          // A fetch may bring more than the window holds: appended whole, it would push every subscriber that has
          // not run since out of the window at once. In slices of a quarter window, with every waiter woken and
          // given a turn between them, only a subscriber that really does not keep up falls behind.
          const slice = Math.max(1, Math.floor(windowRecords / 4));
          for (let at = 0; at + slice < items.length && !this.#closed; at += slice) {
            const part = items.slice(at, at + slice);
            window.append(part, (part.at(-1)?.offset ?? window.end - 1n) + 1n);
            await this.#notify();
            await nextTurn();
          }
          const rest = items.length > slice ? items.slice(Math.floor((items.length - 1) / slice) * slice) : items;
          mostInOnePartition = Math.max(mostInOnePartition, rest.length);
          window.append(rest, next);
          grew ||= window.end !== before;
        }
        this.#sinceSweep += mostInOnePartition;
        if (grew) await this.#notify(keys);
        failures = 0;
      } catch (error) {
        if (this.#closed) break;
        failures++;
        // Not at the first failure: a leader moving or a broker restarting fails a fetch or two as well.
        if (failures % 3 === 0 && (await this.#isGone())) {
          logger.warn({ topic }, 'the topic was deleted; its subscriptions end');
          this.#gone = true;
          this.#closed = true;
          // Told first, so its subscriptions are ended before they are woken (a closed tail wakes waiters at once).
          this.#options.onGone?.();
          await this.#notify();
          break;
        }
        if (error instanceof OffsetOutOfRangeError) await this.#realign();
        const pauseMs = Math.min(100 * 2 ** Math.min(failures, 6), 5_000);
        if (failures === 1 || failures % 20 === 0) {
          logger.warn({ err: error, topic, retryInMs: pauseMs, failures }, 'the shared read of the topic failed; retrying');
        }
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
    await log.endTail(topic).catch(() => undefined);
  }

  async #isGone(): Promise<boolean> {
    if (!this.#options.isGone) return false;
    return this.#options.isGone().catch(() => false);
  }

  /** The log moved under the live read (truncated, or the topic recreated): go on from where it now is. */
  async #realign(): Promise<void> {
    const marks = await this.#options.log.watermarks(this.#options.topic).catch(() => undefined);
    for (const [partition, window] of this.#windows) {
      const mark = marks?.get(partition);
      if (!mark || (window.end >= mark.low && window.end <= mark.high)) continue;
      this.#options.logger.warn(
        { topic: this.#options.topic, partition, was: String(window.end), low: String(mark.low), high: String(mark.high) },
        'the live read was outside the log; starting over in this partition',
      );
      window.reset(window.end > mark.high ? mark.low : mark.high);
    }
    await this.#notify();
  }

  /**
   * Wakes the waiters the new records concern, first those with records to deliver, then those a sweep only lets
   * move past other keys' records. With `keys` (a live fetch), resolves once the first were woken: a sweep of ten
   * thousand waiters takes many turns, and the next fetch waiting for it held up the next record of every subscriber
   * (the ramp's probe saw p99s of 149-389 ms at 10,000). Without (slices, realignment, closing), once every one was woken.
   */
  #notify(keys?: ReadonlySet<string>): Promise<void> {
    const delivering = this.#waiting;
    this.#waiting = [];
    for (const key of keys ?? []) {
      for (const wake of this.#keyed.get(key) ?? []) delivering.push(wake);
      this.#keyed.delete(key);
    }
    const swept: (() => void)[] = [];
    const sweep = keys === undefined || this.#sinceSweep * 4 >= this.#options.windowRecords || Date.now() - this.#sweptAt >= 1000;
    if (sweep) {
      // Loops, not push(...spread): a key may have more waiters than a call takes arguments.
      for (const waiters of this.#keyed.values()) for (const wake of waiters) swept.push(wake);
      this.#keyed.clear();
      this.#sinceSweep = 0;
      this.#sweptAt = Date.now();
    }
    const delivered = wakeInTurns(delivering);
    if (swept.length === 0) return delivered;
    const unfinished = [...this.#sweeping];
    const sweeping = delivered.then(() => wakeInTurns(swept));
    if (keys === undefined) return sweeping;
    this.#sweeping.add(sweeping);
    void sweeping.finally(() => this.#sweeping.delete(sweeping));
    // A sweep from before still running: the read waits for it, so it never gets more than a sweep (a quarter window)
    // ahead of the waiters a sweep moves, and none of them is pushed out of the window by records appended meanwhile.
    return unfinished.length > 0 ? Promise.all([delivered, ...unfinished]).then(() => {}) : delivered;
  }
}

/**
 * Waiters woken in one go run their deliveries in one turn of the event loop: five thousand subscribers of one
 * record held every socket (and every join) back for half a second. In turns, other work gets in between.
 */
const WAKES_PER_TURN = 256;

async function wakeInTurns(waiters: readonly (() => void)[]): Promise<void> {
  for (let at = 0; at < waiters.length; at += WAKES_PER_TURN) {
    if (at > 0) await nextTurn();
    for (const wake of waiters.slice(at, at + WAKES_PER_TURN)) wake();
  }
}
