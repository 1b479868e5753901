/** What to do with a batch fetched for a partition whose start position may not have been applied yet. */
export type StartVerdict =
  | { readonly kind: 'read' }
  | { readonly kind: 'seek'; readonly offset: bigint }
  | { readonly kind: 'moved'; readonly expected: bigint };

/**
 * The start positions (seeks) a subscription has not yet seen applied. kafkajs
 * forgets a seek whose offset commit failed and then reads on from the group's
 * committed offset, which can skip records: so a start counts as applied only
 * once a batch was fetched from exactly that offset. A partition is re-seeked
 * once; a second miss means the offset left the log (retention), and reading
 * on from where Kafka put it is all there is.
 */
export class PendingStarts {
  readonly #pending: Map<number, { readonly offset: bigint; reseeked: boolean }>;
  #reading = false;

  constructor(seeks: ReadonlyMap<number, bigint>) {
    this.#pending = new Map([...seeks].map(([partition, offset]) => [partition, { offset, reseeked: false }]));
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
      const start = this.#pending.get(partition);
      return start ? [{ partition, offset: start.offset }] : [];
    });
  }

  /** Called for every batch before it is handled; only 'read' lets the batch through. */
  onBatch(partition: number, fetchedOffset: bigint): StartVerdict {
    this.#reading = true;
    const start = this.#pending.get(partition);
    if (!start || start.offset === fetchedOffset) {
      this.#pending.delete(partition);
      return { kind: 'read' };
    }
    if (!start.reseeked) {
      start.reseeked = true;
      return { kind: 'seek', offset: start.offset };
    }
    this.#pending.delete(partition);
    return { kind: 'moved', expected: start.offset };
  }
}
