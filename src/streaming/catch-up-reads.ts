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
  /** Reads in flight at once, for the whole topic. */
  readonly concurrency: number;
  /** @default 128 KiB */
  readonly maxBytes?: number;
  /** Answers kept for reuse. @default 64 */
  readonly remembered?: number;
}

/**
 * Reads for subscriptions that are behind the live window: bounded in number, and shared when several ask for the
 * same partition and offset at once (many subscribers starting at EARLIEST, say).
 */
export class CatchUpReads<T> {
  readonly #options: CatchUpReadsOptions<T>;
  readonly #inFlight = new Map<string, Promise<CatchUpChunk<T>>>();
  /** Recent answers: a log's records never change, so many subscribers joining at one offset share one read. */
  readonly #recent = new Map<string, CatchUpChunk<T>>();
  readonly #waiting: (() => void)[] = [];
  #running = 0;

  constructor(options: CatchUpReadsOptions<T>) {
    this.#options = options;
  }

  read(partition: number, offset: bigint): Promise<CatchUpChunk<T>> {
    const key = `${partition}:${offset}`;
    const recent = this.#recent.get(key);
    if (recent) return Promise.resolve(recent);
    let chunk = this.#inFlight.get(key);
    if (!chunk) {
      chunk = this.#limited(() => this.#read(partition, offset))
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

  async #limited<R>(work: () => Promise<R>): Promise<R> {
    if (this.#running >= this.#options.concurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await work();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
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
