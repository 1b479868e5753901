import { describe, expect, it } from 'vitest';
import { planStartOffsets } from '../../src/streaming/start-positions.js';

// Partition 0 holds offsets 10..19, partition 1 is empty at 5, partition 2 holds 0..6.
const watermarks = new Map([
  [0, { low: 10n, high: 20n }],
  [1, { low: 5n, high: 5n }],
  [2, { low: 0n, high: 7n }],
]);
const entries = (map: ReadonlyMap<number, bigint>) => Object.fromEntries(map);

describe('planStartOffsets', () => {
  it('should start LATEST at the end and EARLIEST at the start of every partition, moving each one', () => {
    const latest = planStartOffsets('LATEST', { watermarks });
    expect(entries(latest.positions)).toEqual({ 0: 20n, 1: 5n, 2: 7n });
    expect(entries(latest.seeks)).toEqual(entries(latest.positions));
    expect(entries(planStartOffsets('EARLIEST', { watermarks }).seeks)).toEqual({ 0: 10n, 1: 5n, 2: 0n });
  });

  it('should resume AFTER_CURSOR at the cursor, clamped into the log, and at the start of a partition it lacks', () => {
    const given = new Map([
      [0, 3n],
      [2, 4n],
    ]);
    expect(entries(planStartOffsets('AFTER_CURSOR', { watermarks, given }).seeks)).toEqual({ 0: 10n, 1: 5n, 2: 4n });
  });

  it('should start SINCE at the offsets for the instant, and at the end where none was found', () => {
    const given = new Map([
      [0, 12n],
      [2, 99n],
    ]);
    expect(entries(planStartOffsets('SINCE', { watermarks, given }).seeks)).toEqual({ 0: 12n, 1: 5n, 2: 7n });
  });

  it('should leave COMMITTED partitions alone, starting those without usable offsets at the end', () => {
    const given = new Map([
      [0, 15n],
      [1, -1n],
      [2, 9n],
    ]);
    const plan = planStartOffsets('COMMITTED', { watermarks, given });
    expect(entries(plan.positions)).toEqual({ 0: 15n, 1: 5n, 2: 7n });
    expect(entries(plan.seeks)).toEqual({ 1: 5n, 2: 7n });
  });
});
