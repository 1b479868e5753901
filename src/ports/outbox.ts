/** A record waiting in the outbox, exactly as it will go to Kafka. */
export interface PendingRecord {
  readonly id: bigint;
  readonly eventId: string;
  readonly topic: string;
  readonly key: string;
  /** The CloudEvent, serialized once here. */
  readonly value: string;
}

/**
 * The relay's view of the outbox while it holds the relay lease. `pending`
 * fails once the lease is lost, so a relay never reads records to publish
 * without it.
 */
export interface OutboxLease {
  /** Oldest unpublished records first (by commit-time id), at most `limit`. */
  pending(limit: number): Promise<PendingRecord[]>;
  /** Sets published_at to when Kafka acknowledged them: `acknowledgedMsAgo` before the mark, by the database's clock. */
  markPublished(ids: readonly bigint[], acknowledgedMsAgo?: number): Promise<void>;
  countPending(): Promise<number>;
  release(): Promise<void>;
}

export interface OutboxStore {
  /** The lease when no other relay holds it, else null. */
  tryLease(): Promise<OutboxLease | null>;
  /** Calls `wake` whenever a transaction that wrote to the outbox commits. */
  onCommit(wake: () => void): Promise<{ stop(): Promise<void> }>;
}

export interface RecordPublisher {
  /** Resolves once every record is acknowledged by all in-sync replicas; rejects when the outcome is unknown. */
  publish(records: readonly PendingRecord[]): Promise<void>;
  /** Drops the producer after a failed send, so the next send starts clean. */
  reset(): Promise<void>;
  close(): Promise<void>;
}
