import { describe, expect, it } from 'vitest';
import { PendingStarts } from '../../src/adapters/kafka/pending-starts.js';

const seeks = new Map([
  [0, 10n],
  [1, 5n],
  [2, 0n],
]);
const logStartsAt = (offset: bigint | undefined) => async () => offset;
const unknown = async (): Promise<bigint | undefined> => {
  throw new Error('the broker did not answer');
};

describe('PendingStarts', () => {
  it('should seek every assigned partition at a join, and again at the next join until a batch confirms it', async () => {
    const starts = new PendingStarts(seeks);
    expect(starts.onJoin([0, 1])).toEqual([
      { partition: 0, offset: 10n },
      { partition: 1, offset: 5n },
    ]);
    expect(starts.onJoin([0, 1, 2])).toHaveLength(3);
    expect(await starts.onBatch(0, 10n, logStartsAt(0n))).toEqual({ kind: 'read' });
    expect(starts.onJoin([0, 1, 2]).map((s) => s.partition)).toEqual([1, 2]);
  });

  it('should seek again for as long as batches come from elsewhere while the start is in the log (lost seeks)', async () => {
    const starts = new PendingStarts(seeks);
    starts.onJoin([0]);
    // The seek was lost: kafkajs fetched from the group's committed offset, beyond the start.
    expect(await starts.onBatch(0, 42n, logStartsAt(0n))).toEqual({ kind: 'seek', offset: 10n });
    expect(await starts.onBatch(0, 42n, logStartsAt(0n))).toEqual({ kind: 'seek', offset: 10n });
    expect(await starts.onBatch(0, 42n, unknown)).toEqual({ kind: 'seek', offset: 10n });
    expect(await starts.onBatch(0, 10n, logStartsAt(0n))).toEqual({ kind: 'read' });
    expect(await starts.onBatch(0, 11n, logStartsAt(0n))).toEqual({ kind: 'read' });
  });

  it('should read on from where Kafka put the consumer once the start has left the log', async () => {
    const starts = new PendingStarts(seeks);
    expect(await starts.onBatch(1, 7n, logStartsAt(7n))).toEqual({ kind: 'moved', expected: 5n });
    expect(await starts.onBatch(1, 7n, logStartsAt(7n))).toEqual({ kind: 'read' });
  });

  it('should pass batches of partitions without a start, and forget starts of partitions given away after reading began', async () => {
    const starts = new PendingStarts(new Map([[0, 10n]]));
    expect(await starts.onBatch(3, 99n, logStartsAt(0n))).toEqual({ kind: 'read' });
    expect(starts.onJoin([1])).toEqual([]);
    expect(starts.onJoin([0])).toEqual([]);
  });
});
