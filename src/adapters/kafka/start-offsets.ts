import type { Admin } from 'kafkajs';
import type { CursorPositions } from '../../domain/subscription-cursor.js';

/** A validated start position (the cursor already verified). */
export type StartRequest =
  | { readonly kind: 'LATEST' | 'EARLIEST' | 'COMMITTED' }
  | { readonly kind: 'SINCE'; readonly at: Date }
  | { readonly kind: 'AFTER_CURSOR'; readonly positions: CursorPositions };

export interface StartOffsets {
  /** Where every partition of the topic starts, as of subscribing: the cursor before anything is read. */
  readonly positions: ReadonlyMap<number, bigint>;
  /** The partitions to move to their start explicitly; the rest continue from the group's committed offsets. */
  readonly seeks: ReadonlyMap<number, bigint>;
}

interface Watermarks {
  readonly low: bigint;
  readonly high: bigint;
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

/** Asks the broker what `planStartOffsets` needs: one or two round trips. */
export async function fetchStartOffsets(admin: Admin, topic: string, groupId: string, start: StartRequest): Promise<StartOffsets> {
  const [marks, given] = await Promise.all([admin.fetchTopicOffsets(topic), fetchGiven(admin, topic, groupId, start)]);
  const watermarks = new Map(marks.map((m) => [m.partition, { low: BigInt(m.low), high: BigInt(m.high) }]));
  return planStartOffsets(start.kind, given ? { watermarks, given } : { watermarks });
}

async function fetchGiven(
  admin: Admin,
  topic: string,
  groupId: string,
  start: StartRequest,
): Promise<ReadonlyMap<number, bigint> | undefined> {
  switch (start.kind) {
    case 'AFTER_CURSOR':
      return start.positions;
    case 'SINCE': {
      const offsets = await admin.fetchTopicOffsetsByTimestamp(topic, start.at.getTime());
      return new Map(offsets.map((o) => [o.partition, BigInt(o.offset)]));
    }
    case 'COMMITTED': {
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return new Map((offsets?.partitions ?? []).map((o) => [o.partition, BigInt(o.offset)]));
    }
    default:
      return undefined;
  }
}
