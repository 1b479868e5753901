import type { CatchUpChunk, CatchUpReads } from './catch-up-reads.js';
import type { GroupMember } from './group-offsets.js';
import type { StreamItem } from './partition-window.js';
import type { TopicTail } from './topic-tail.js';

/** One record handed to a subscriber, with where the subscription stands right after it. */
export interface StreamDelivery<T> {
  readonly item: StreamItem<T> & { readonly value: T };
  /** Every partition's next offset once this record counts as delivered: what a resume token holds. */
  readonly positionsAfter: ReadonlyMap<number, bigint>;
}

/** Why a subscription ended early. */
export class SubscriptionLaggedError extends Error {
  constructor(readonly partition: number) {
    super('the subscriber fell too far behind the live stream');
    this.name = 'SubscriptionLaggedError';
  }
}

export interface StreamSubscriptionOptions<T> {
  readonly tail: TopicTail<T>;
  readonly catchUp: CatchUpReads<T>;
  readonly start: ReadonlyMap<number, bigint>;
  readonly accept: (value: T) => boolean;
  /** Whose subscription this is: its catch-up reads count toward that caller's fair share. @default '' (one for all) */
  readonly caller?: string;
  /** Only records with this key can be accepted: the subscription waits for those (and for sweeps) only. */
  readonly key?: string;
  /** Read behind the live window when it falls behind (durable), instead of ending with SubscriptionLaggedError. */
  readonly catchUpWhenLagging: boolean;
  /** A catch-up read failed (it is retried). */
  readonly onReadFailed?: (error: unknown) => void;
  /** A start position had left the log and the read goes on from the earliest offset. */
  readonly onMoved?: (partition: number, from: bigint, to: bigint) => void;
}

type Step<T> =
  | { readonly kind: 'deliver'; readonly item: StreamItem<T> & { readonly value: T } }
  | { readonly kind: 'catch-up'; readonly partition: number; readonly from: bigint }
  | { readonly kind: 'wait' };

/**
 * One subscription's reading of a topic: a position per partition, read from the shared window or, behind it,
 * through catch-up reads. It pulls: nothing is read for it until its client took the previous record, so a slow
 * client only falls behind, and never holds anything up. Also a group member: `committable()` is what it may commit.
 */
export class StreamSubscription<T> implements GroupMember {
  readonly #options: StreamSubscriptionOptions<T>;
  readonly #positions: Map<number, bigint>;
  readonly #chunks = new Map<number, { chunk: CatchUpChunk<T>; index: number }>();
  /** Partitions read from the live window at least once (falling behind there is lagging, not starting). */
  readonly #live = new Set<number>();
  #nextPartition = 0;
  #epoch = 0;
  #ended = false;
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(options: StreamSubscriptionOptions<T>) {
    this.#options = options;
    this.#positions = new Map(options.start);
  }

  committable(): ReadonlyMap<number, bigint> {
    return this.#positions;
  }

  reposition(offsets: ReadonlyMap<number, bigint>): void {
    for (const [partition, offset] of offsets) {
      if (this.#positions.has(partition)) this.#positions.set(partition, offset);
    }
    this.#chunks.clear();
    this.#live.clear();
    this.#epoch++;
    this.#wake?.();
  }

  /** Ends the generator at its next step, waking it if it waits for records. */
  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  /** Ends the generator at its next step with `error` thrown to its reader (its topic is gone, say). */
  fail(error: Error): void {
    this.#failure ??= error;
    this.end();
  }

  /**
   * The records this subscription accepts, in order per partition. A record's position is committable once the
   * generator is resumed after yielding it (the client took it).
   */
  async *deliveries(): AsyncGenerator<StreamDelivery<T>, void, undefined> {
    const { tail, catchUp } = this.#options;
    while (!this.#ended) {
      const step = this.#step();
      if (step.kind === 'deliver') {
        const { item } = step;
        const epoch = this.#epoch;
        const positionsAfter = new Map(this.#positions);
        positionsAfter.set(item.partition, item.offset + 1n);
        yield { item, positionsAfter };
        // Resumed: the client has it. Unless the group was repositioned meanwhile, move past it.
        if (epoch === this.#epoch) this.#advance(item.partition, item.offset + 1n);
      } else if (step.kind === 'catch-up') {
        const epoch = this.#epoch;
        const chunk = await this.#readBehind(catchUp, step.partition, step.from);
        if (chunk === undefined || epoch !== this.#epoch || this.#ended) continue;
        if (chunk.moved) this.#options.onMoved?.(step.partition, step.from, chunk.next);
        this.#chunks.set(step.partition, { chunk, index: 0 });
        if (chunk.items.length === 0) this.#advance(step.partition, chunk.next);
      } else {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          void tail.appended(this.#options.key).then(resolve);
        });
        this.#wake = undefined;
      }
    }
    if (this.#failure) throw this.#failure;
  }

  /** A catch-up read, retried with a growing pause while the log does not answer; undefined once ended. */
  async #readBehind(catchUp: CatchUpReads<T>, partition: number, from: bigint): Promise<CatchUpChunk<T> | undefined> {
    for (let pauseMs = 200; !this.#ended; pauseMs = Math.min(pauseMs * 2, 5_000)) {
      try {
        return await catchUp.read(partition, from, this.#options.caller);
      } catch (error) {
        this.#options.onReadFailed?.(error);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pauseMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
    }
    return undefined;
  }

  #advance(partition: number, offset: bigint): void {
    if (offset > (this.#positions.get(partition) ?? -1n)) this.#positions.set(partition, offset);
  }

  /** The next thing to do, passing over (and so committing) what the filter refuses. */
  #step(): Step<T> {
    const partitions = this.#options.tail.partitions;
    for (let tried = 0; tried < partitions.length; tried++) {
      const index = (this.#nextPartition + tried) % partitions.length;
      const partition = partitions[index];
      if (partition === undefined) continue;
      const step = this.#stepIn(partition);
      if (step.kind === 'wait') continue;
      this.#nextPartition = index + 1;
      return step;
    }
    return { kind: 'wait' };
  }

  #stepIn(partition: number): Step<T> {
    const window = this.#options.tail.window(partition);
    for (;;) {
      const position = this.#positions.get(partition);
      if (position === undefined || window === undefined) return { kind: 'wait' };
      const held = this.#chunks.get(partition);
      let item: StreamItem<T> | undefined;
      if (held) {
        item = held.chunk.items[held.index];
        if (item === undefined) {
          this.#chunks.delete(partition);
          this.#advance(partition, held.chunk.next);
          continue;
        }
        held.index++;
        if (item.offset < position) continue;
      } else if (position < window.base) {
        if (this.#live.has(partition) && !this.#options.catchUpWhenLagging) throw new SubscriptionLaggedError(partition);
        return { kind: 'catch-up', partition, from: position };
      } else {
        item = window.firstFrom(position);
        if (item === undefined) {
          if (position < window.end) this.#advance(partition, window.end);
          return { kind: 'wait' };
        }
        this.#live.add(partition);
      }
      const { key } = this.#options;
      if (item.value !== null && (key === undefined || item.key === key) && this.#options.accept(item.value)) {
        return { kind: 'deliver', item: item as StreamItem<T> & { readonly value: T } };
      }
      this.#advance(partition, item.offset + 1n);
    }
  }
}
