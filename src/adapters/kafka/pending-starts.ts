/** What to do with a batch fetched for a partition whose start position may not have been applied yet. */
export type StartVerdict =
  | { readonly kind: 'read' }
  | { readonly kind: 'seek'; readonly offset: bigint }
  | { readonly kind: 'moved'; readonly expected: bigint };

/**
 * The start positions (seeks) a subscription has not yet seen applied. kafkajs
 * forgets a seek whose offset commit failed and then reads on from the group's
 * committed offset, which can skip records: so a start counts as applied only
 * once a batch was fetched from exactly that offset, and is sought again until
 * then. Only a start that is no longer in the log (retention deleted it) gives
 * way to where Kafka put the consumer.
 */
export class PendingStarts {
  readonly #pending: Map<number, bigint>;
  #reading = false;

  constructor(seeks: ReadonlyMap<number, bigint>) {
    this.#pending = new Map(seeks);
  }

  /**
   * The seeks to issue for the partitions this member was just given. Once it has read anything, a start applies
   * only to the partitions it still holds: one that went to another member reads on from the group's offsets.
   */
  onJoin(assigned: readonly number[]): { partition: number; offset: bigint }[] {
    if (this.#reading) {
      for (const partition of this.#pending.keys()) if (!assigned.includes(partition)) this.#pending.delete(partition);
    }
    return assigned.flatMap((partition) => {
      const offset = this.#pending.get(partition);
      return offset === undefined ? [] : [{ partition, offset }];
    });
  }

  /**
   * Called for every batch before it is handled; only 'read' lets the batch through. `earliestOffset` is asked
   * only when a batch did not come from the start; when it cannot tell, the start is sought again.
   */
  async onBatch(
    partition: number,
    fetchedOffset: bigint,
    earliestOffset: (partition: number) => Promise<bigint | undefined>,
  ): Promise<StartVerdict> {
    this.#reading = true;
    const start = this.#pending.get(partition);
    if (start === undefined || start === fetchedOffset) {
      this.#pending.delete(partition);
      return { kind: 'read' };
    }
    const earliest = await earliestOffset(partition).catch(() => undefined);
    if (earliest !== undefined && start < earliest) {
      this.#pending.delete(partition);
      return { kind: 'moved', expected: start };
    }
    return { kind: 'seek', offset: start };
  }
}
