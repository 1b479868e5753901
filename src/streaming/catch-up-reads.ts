import { FairSlots } from './fair-slots.js';
import { type LogClient, type LogRecord, OffsetOutOfRangeError } from './log-client.js';
import type { StreamItem } from './partition-window.js';
import { toStreamItem } from './topic-tail.js';

/** What one catch-up read of one partition gave. */
export interface CatchUpChunk<T> {
  readonly items: readonly StreamItem<T>[];
  /** Where the next read starts. */
  readonly next: bigint;
  /** The asked offset had left the log; `next` is where it now begins (or ends). */
  readonly moved: boolean;
}

export interface CatchUpReadsOptions<T> {
  readonly log: LogClient;
  readonly topic: string;
  readonly decode: (record: LogRecord) => T | null;
  /** Reads in flight at once; one caller holds at most its fair share of them. */
  readonly concurrency: number;
  /** Slots shared with the catch-up reads of other topics (then `concurrency` is theirs). @default slots of its own */
  readonly slots?: FairSlots<string>;
  /** @default 128 KiB */
  readonly maxBytes?: number;
  /** Answers kept for reuse. @default 64 */
  readonly remembered?: number;
}

/**
 * Reads for subscriptions that are behind the live window: bounded in number, shared fairly between callers (one
 * caller replaying the topic on many subscriptions cannot make another's subscriber wait behind all of them), and
 * shared when several ask for the same partition and offset at once (many subscribers starting at EARLIEST, say).
 */
export class CatchUpReads<T> {
  readonly #options: CatchUpReadsOptions<T>;
  readonly #inFlight = new Map<string, Promise<CatchUpChunk<T>>>();
  /** Recent answers: a log's records never change, so many subscribers joining at one offset share one read. */
  readonly #recent = new Map<string, CatchUpChunk<T>>();
  readonly #slots: FairSlots<string>;

  constructor(options: CatchUpReadsOptions<T>) {
    this.#options = options;
    this.#slots = options.slots ?? new FairSlots(options.concurrency);
  }

  /** `caller` is whose subscription asks: the read waits for a slot within that caller's share. */
  read(partition: number, offset: bigint, caller = ''): Promise<CatchUpChunk<T>> {
    const key = `${partition}:${offset}`;
    const recent = this.#recent.get(key);
    if (recent) return Promise.resolve(recent);
    let chunk = this.#inFlight.get(key);
    if (!chunk) {
      chunk = this.#limited(caller, () => this.#read(partition, offset))
        .then((answer) => {
          if (!answer.moved && answer.items.length > 0) this.#remember(key, answer);
          return answer;
        })
        .finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, chunk);
    }
    return chunk;
  }

  #remember(key: string, chunk: CatchUpChunk<T>): void {
    this.#recent.set(key, chunk);
    for (const oldest of this.#recent.keys()) {
      if (this.#recent.size <= (this.#options.remembered ?? 64)) break;
      this.#recent.delete(oldest);
    }
  }

  async #limited<R>(caller: string, work: () => Promise<R>): Promise<R> {
    await new Promise<void>((resolve) => this.#slots.acquire(caller, resolve));
    try {
      return await work();
    } finally {
      this.#slots.release(caller);
    }
  }

  async #read(partition: number, offset: bigint): Promise<CatchUpChunk<T>> {
    const { log, topic, decode, maxBytes = 128 * 1024 } = this.#options;
    try {
      const [fetched] = await log.read(topic, new Map([[partition, offset]]), maxBytes);
      if (!fetched) return { items: [], next: offset, moved: false };
      return { items: fetched.records.map((record) => toStreamItem(record, decode)), next: fetched.next, moved: false };
    } catch (error) {
      if (!(error instanceof OffsetOutOfRangeError)) throw error;
      const mark = (await log.watermarks(topic)).get(partition);
      if (!mark) throw error;
      return { items: [], next: offset < mark.low ? mark.low : mark.high, moved: true };
    }
  }
}
