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
  /**
   * SINCE: the first offset at or after the instant, asked once `watermarks` were in (absent: none yet);
   * AFTER_CURSOR: the cursor; COMMITTED: the group's (-1 for none).
   */
  readonly given?: ReadonlyMap<number, bigint>;
}

/** The questions a subscription's start needs the log to answer. */
export interface StartLookups {
  watermarks(): Promise<ReadonlyMap<number, Watermarks>>;
  /** Per partition, the first offset whose timestamp is at or after `at`; a partition without one is absent. */
  offsetsAt(at: Date): Promise<ReadonlyMap<number, bigint>>;
  /** The group's committed offsets (a partition without one is absent). */
  committed(): Promise<ReadonlyMap<number, bigint>>;
}

/**
 * Asks the log what `planStartOffsets` needs. SINCE asks for the watermarks first and for the offsets at the instant
 * only once they are in: a partition with nothing at or after the instant then starts at an end read before that
 * answer, so whatever is appended after it is reached, and whatever was appended between the two answers at or after
 * the instant is in the answer itself. Asked at once (as before), the end could be read after a record landed that the
 * offsets answer had not seen: that record was never delivered.
 */
export async function askStartFacts(start: StartRequest, ask: StartLookups): Promise<StartFacts> {
  switch (start.kind) {
    case 'SINCE': {
      const watermarks = await ask.watermarks();
      return { watermarks, given: await ask.offsetsAt(start.at) };
    }
    case 'COMMITTED': {
      // A group without offsets starts at the end as of subscribing: either order is as good, so both at once.
      const [watermarks, given] = await Promise.all([ask.watermarks(), ask.committed()]);
      return { watermarks, given };
    }
    case 'AFTER_CURSOR':
      return { watermarks: await ask.watermarks(), given: start.positions };
    default:
      return { watermarks: await ask.watermarks() };
  }
}

const clamp = (offset: bigint, { low, high }: Watermarks): bigint => (offset < low ? low : offset > high ? high : offset);

/**
 * Pure: the start of every partition. Offsets outside the log are clamped into
 * it (retention deleted them, or the topic was recreated), so kafkajs never
 * falls back to its own reset policy. SINCE's offset is taken as given above the
 * watermarks: it was answered after them, so an offset beyond the end they saw is
 * a record appended since, the first at or after the instant; starting at the older
 * end would hand out the records before it. With `fresh` (the topic appeared after
 * the subscription began), "the end as of subscribing" is the topic's beginning.
 */
export function planStartOffsets(kind: StartRequest['kind'], facts: StartFacts, fresh = false): StartOffsets {
  const positions = new Map<number, bigint>();
  const seeks = new Map<number, bigint>();
  for (const [partition, marks] of facts.watermarks) {
    const given = facts.given?.get(partition);
    // `fresh`: the topic did not exist when the subscription began, so everything in it was appended since.
    const latest = fresh ? marks.low : marks.high;
    let start: bigint;
    if (kind === 'LATEST') start = latest;
    else if (kind === 'EARLIEST') start = marks.low;
    else if (kind === 'AFTER_CURSOR') start = clamp(given ?? marks.low, marks);
    // SINCE's offset may lie beyond the watermarks (it was answered after them): kept, only raised into the log.
    else if (kind === 'SINCE') start = given === undefined || given < 0n ? latest : clamp(given, { low: marks.low, high: given });
    else start = given === undefined || given < 0n ? latest : clamp(given, marks);

    positions.set(partition, start);
    // COMMITTED moves only partitions without a usable committed offset: a group without offsets starts at LATEST.
    if (kind !== 'COMMITTED' || given !== start) seeks.set(partition, start);
  }
  return { positions, seeks };
}
