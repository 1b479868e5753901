/** One record as the engine keeps it: decoded once, shared by every subscription that reads it. */
export interface StreamItem<T> {
  readonly partition: number;
  readonly offset: bigint;
  readonly timestamp: number;
  readonly key: string | null;
  /** null when the record could not be decoded: every subscription passes over it. */
  readonly value: T | null;
}

/**
 * The most recent records of one partition, at most `capacity` of them: the live read appends, subscriptions read
 * by offset. A position in [base, end] can be served from here; below base it needs a catch-up read.
 */
export class PartitionWindow<T> {
  readonly #capacity: number;
  #items: StreamItem<T>[] = [];
  #head = 0;
  #base: bigint;
  #end: bigint;

  constructor(start: bigint, capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
    this.#capacity = capacity;
    this.#base = start;
    this.#end = start;
  }

  /** The lowest position served in full. */
  get base(): bigint {
    return this.#base;
  }

  /** Where the live read goes on: the next offset to fetch. */
  get end(): bigint {
    return this.#end;
  }

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Appends records at or after `end`, in order, and moves `end` to `next`; evicts the oldest beyond capacity. */
  append(items: readonly StreamItem<T>[], next: bigint): void {
    for (const item of items) {
      if (item.offset >= this.#end) this.#items.push(item);
    }
    if (next > this.#end) this.#end = next;
    while (this.size > this.#capacity) {
      const evicted = this.#items[this.#head++];
      if (evicted) this.#base = evicted.offset + 1n;
    }
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Starts over at `start` (the log moved under the live read: truncated or recreated). */
  reset(start: bigint): void {
    this.#items = [];
    this.#head = 0;
    this.#base = start;
    this.#end = start;
  }

  /** The first record at or after `position`; undefined when there is none up to `end` (or position < base). */
  firstFrom(position: bigint): StreamItem<T> | undefined {
    if (position < this.#base) return undefined;
    let low = this.#head;
    let high = this.#items.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const item = this.#items[middle];
      if (item !== undefined && item.offset < position) low = middle + 1;
      else high = middle;
    }
    return this.#items[low];
  }
}
