import type { Watermarks } from './log-client.js';

/** Partition -> offset. */
export type Positions = ReadonlyMap<number, bigint>;

/** A validated start position (the cursor already verified). */
export type StartRequest =
  | { readonly kind: 'LATEST' | 'EARLIEST' | 'COMMITTED' }
  | { readonly kind: 'SINCE'; readonly at: Date }
  | { readonly kind: 'AFTER_CURSOR'; readonly positions: Positions };

export interface StartOffsets {
  /** Where every partition of the topic starts, as of subscribing: the cursor before anything is read. */
  readonly positions: ReadonlyMap<number, bigint>;
  /** The partitions to move to their start explicitly; the rest continue from the group's committed offsets. */
  readonly seeks: ReadonlyMap<number, bigint>;
}

/** What the broker said, per partition, for the start request at hand. */
export interface StartFacts {
  readonly watermarks: ReadonlyMap<number, Watermarks>;
  /** SINCE: the first offset at or after the instant; AFTER_CURSOR: the cursor; COMMITTED: the group's (-1 for none). */
  readonly given?: ReadonlyMap<number, bigint>;
}

const clamp = (offset: bigint, { low, high }: Watermarks): bigint => (offset < low ? low : offset > high ? high : offset);

/**
 * Pure: the start of every partition. Offsets outside the log are clamped into
 * it (retention deleted them, or the topic was recreated), so kafkajs never
 * falls back to its own reset policy.
 */
export function planStartOffsets(kind: StartRequest['kind'], facts: StartFacts): StartOffsets {
  const positions = new Map<number, bigint>();
  const seeks = new Map<number, bigint>();
  for (const [partition, marks] of facts.watermarks) {
    const given = facts.given?.get(partition);
    let start: bigint;
    if (kind === 'LATEST') start = marks.high;
    else if (kind === 'EARLIEST') start = marks.low;
    else if (kind === 'AFTER_CURSOR') start = clamp(given ?? marks.low, marks);
    else if (kind === 'SINCE') start = clamp(given ?? marks.high, marks);
    else start = given === undefined || given < 0n ? marks.high : clamp(given, marks);

    positions.set(partition, start);
    // COMMITTED moves only partitions without a usable committed offset: a group without offsets starts at LATEST.
    if (kind !== 'COMMITTED' || given !== start) seeks.set(partition, start);
  }
  return { positions, seeks };
}
