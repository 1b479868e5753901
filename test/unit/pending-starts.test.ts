import { describe, expect, it } from 'vitest';
import { PendingStarts } from '../../src/adapters/kafka/pending-starts.js';

const seeks = new Map([
  [0, 10n],
  [1, 5n],
  [2, 0n],
]);

describe('PendingStarts', () => {
  it('should seek every assigned partition at a join, and again at the next join until a batch confirms it', () => {
    const starts = new PendingStarts(seeks);
    expect(starts.onJoin([0, 1])).toEqual([
      { partition: 0, offset: 10n },
      { partition: 1, offset: 5n },
    ]);
    expect(starts.onJoin([0, 1, 2])).toHaveLength(3);
    expect(starts.onBatch(0, 10n)).toEqual({ kind: 'read' });
    expect(starts.onJoin([0, 1, 2]).map((s) => s.partition)).toEqual([1, 2]);
  });

  it('should re-seek once when a batch comes from another offset (a lost seek), so nothing before it is skipped', () => {
    const starts = new PendingStarts(seeks);
    starts.onJoin([0]);
    // The seek was lost: kafkajs fetched from the group's committed offset, beyond the start.
    expect(starts.onBatch(0, 42n)).toEqual({ kind: 'seek', offset: 10n });
    expect(starts.onBatch(0, 10n)).toEqual({ kind: 'read' });
    expect(starts.onBatch(0, 11n)).toEqual({ kind: 'read' });
  });

  it('should read on after a second miss, where the start left the log', () => {
    const starts = new PendingStarts(seeks);
    expect(starts.onBatch(1, 7n)).toEqual({ kind: 'seek', offset: 5n });
    expect(starts.onBatch(1, 7n)).toEqual({ kind: 'moved', expected: 5n });
    expect(starts.onBatch(1, 7n)).toEqual({ kind: 'read' });
  });

  it('should pass batches of partitions without a start, and forget starts of partitions given away after reading began', () => {
    const starts = new PendingStarts(new Map([[0, 10n]]));
    expect(starts.onBatch(3, 99n)).toEqual({ kind: 'read' });
    expect(starts.onJoin([1])).toEqual([]);
    expect(starts.onJoin([0])).toEqual([]);
  });
});
