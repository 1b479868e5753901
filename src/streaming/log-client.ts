/**
 * What the subscription engine needs from a partitioned log (Kafka): read at given offsets, and keep consumer-group
 * offsets without joining the group. Nothing here is specific to a topic's content.
 */

export interface Watermarks {
  /** The earliest offset still in the log. */
  readonly low: bigint;
  /** The offset the next appended record gets. */
  readonly high: bigint;
}

export interface LogRecord {
  readonly partition: number;
  readonly offset: bigint;
  /** When the log appended it (or the producer's time, per the topic's settings), epoch ms. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface FetchedPartition {
  readonly partition: number;
  /** Records at or after the offset asked for, in offset order (offsets may have gaps). */
  readonly records: readonly LogRecord[];
  /** Where the next read of this partition starts. */
  readonly next: bigint;
  readonly highWatermark: bigint;
}

export interface CommittedOffset {
  readonly offset: bigint;
  /** What the committer wrote beside the offset; the gateway tags its own commits. */
  readonly metadata: string | null;
}

export interface LogClient {
  /** Whether the topic exists now; rejects when the log does not answer. */
  topicExists(topic: string): Promise<boolean>;
  /** The topic's partition ids; rejects while the topic does not exist. */
  partitions(topic: string): Promise<number[]>;
  watermarks(topic: string): Promise<ReadonlyMap<number, Watermarks>>;
  /** Per partition, the first offset whose timestamp is at or after `at`; a partition with none is absent. */
  offsetsAt(topic: string, at: Date): Promise<ReadonlyMap<number, bigint>>;
  /** The shared live read: waits up to `maxWaitMs` for anything new (on a connection of the topic's own). */
  tail(topic: string, offsets: ReadonlyMap<number, bigint>, maxWaitMs: number, maxBytesPerPartition: number): Promise<FetchedPartition[]>;
  /** The topic's live read stopped: its connection may go. */
  endTail(topic: string): Promise<void>;
  /** A catch-up read: answers at once with what is there. */
  read(topic: string, offsets: ReadonlyMap<number, bigint>, maxBytesPerPartition: number): Promise<FetchedPartition[]>;
  /** The group's committed offsets on the topic (partitions without one are absent). */
  committed(groupId: string, topic: string): Promise<ReadonlyMap<number, CommittedOffset>>;
  /** Commits as a non-member (the group must have no live members). */
  commit(groupId: string, topic: string, offsets: ReadonlyMap<number, bigint>, metadata: string): Promise<void>;
  /** Every consumer group the cluster knows (its id), whoever created it. */
  listGroups(): Promise<string[]>;
  /** Deletes groups; resolves with the ids it could not delete (a group that never existed counts as deleted). */
  deleteGroups(groupIds: readonly string[]): Promise<string[]>;
  close(): Promise<void>;
}

/** A read asked for an offset outside the partition's log (retention deleted it, or the topic was recreated). */
export class OffsetOutOfRangeError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('the offset is outside the log', options);
    this.name = 'OffsetOutOfRangeError';
  }
}
