import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { Watermarks } from '../../src/streaming/log-client.js';
import { askStartFacts, planStartOffsets, type StartLookups } from '../../src/streaming/start-positions.js';

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
      [2, 4n],
    ]);
    expect(entries(planStartOffsets('SINCE', { watermarks, given }).seeks)).toEqual({ 0: 12n, 1: 5n, 2: 4n });
  });

  it('should start SINCE at an offset for the instant beyond the watermarks read before it, not at their older end', () => {
    // Partition 2 ended at 7 when the watermarks were read; 7 and 8 were appended before the instant, 9 after it.
    const plan = planStartOffsets('SINCE', { watermarks, given: new Map([[2, 9n]]) });
    expect(entries(plan.positions)).toEqual({ 0: 20n, 1: 5n, 2: 9n });
  });

  it('should start SINCE no lower than the earliest offset still in the log', () => {
    expect(entries(planStartOffsets('SINCE', { watermarks, given: new Map([[0, 3n]]) }).positions)).toEqual({ 0: 10n, 1: 5n, 2: 7n });
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

/**
 * A log whose partitions receive a record stamped after the instant right after each answer it gives, and which
 * answers the question asked last first: the worst order a broker and the network can produce.
 */
function appendingLog(partitions: number, instant: number) {
  // Two records from before the instant in each partition, then the appends.
  const stamps: number[][] = Array.from({ length: partitions }, () => [instant - 2000, instant - 1000]);
  const pending: (() => void)[] = [];
  let answering = false;
  const answerAll = async () => {
    await nextTurn();
    for (let next = pending.pop(); next; next = pending.pop()) {
      next();
      for (const partition of stamps) partition.push(instant + partition.length + 1);
      await nextTurn();
    }
    answering = false;
  };
  const later = <T>(answer: () => T): Promise<T> =>
    new Promise<T>((resolve) => {
      pending.push(() => resolve(answer()));
      if (answering) return;
      answering = true;
      void answerAll();
    });
  const lookups: StartLookups = {
    watermarks: () =>
      later(() => new Map<number, Watermarks>(stamps.map((partition, p) => [p, { low: 0n, high: BigInt(partition.length) }]))),
    offsetsAt: (at) =>
      later(() => {
        const found = new Map<number, bigint>();
        stamps.forEach((partition, p) => {
          const offset = partition.findIndex((stamp) => stamp >= at.getTime());
          if (offset >= 0) found.set(p, BigInt(offset));
        });
        return found;
      }),
    committed: () => later(() => new Map()),
  };
  return { stamps, lookups };
}

describe('askStartFacts', () => {
  it('should plan SINCE so that no record at or after the instant appended while asking lies before the start', async () => {
    const instant = Date.parse('2026-12-01T00:00:00Z');
    for (let round = 0; round < 20; round++) {
      const { stamps, lookups } = appendingLog(3, instant);
      const start = { kind: 'SINCE', at: new Date(instant) } as const;
      const { positions } = planStartOffsets('SINCE', await askStartFacts(start, lookups));
      stamps.forEach((partition, p) => {
        const first = partition.findIndex((stamp) => stamp >= instant);
        expect(first).toBeGreaterThanOrEqual(0);
        expect(positions.get(p)).toBeLessThanOrEqual(BigInt(first));
      });
    }
  });

  it('should ask for the offsets at the instant only once the watermarks are in', async () => {
    const asked: string[] = [];
    const { lookups } = appendingLog(1, 0);
    await askStartFacts(
      { kind: 'SINCE', at: new Date(0) },
      {
        watermarks: () => {
          asked.push('watermarks');
          return lookups.watermarks().finally(() => asked.push('watermarks answered'));
        },
        offsetsAt: (at) => {
          asked.push('offsetsAt');
          return lookups.offsetsAt(at);
        },
        committed: lookups.committed,
      },
    );
    expect(asked).toEqual(['watermarks', 'watermarks answered', 'offsetsAt']);
  });
});
