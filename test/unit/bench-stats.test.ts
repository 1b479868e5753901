import { describe, expect, it } from 'vitest';
import { median, pairedDelays, percentile, ratio, round, summarize } from '../../bench/lib/stats.js';

describe('benchmark statistics', () => {
  it('should take the nearest-rank percentile of sorted samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
    expect(percentile(samples, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });

  it('should answer NaN for the percentile of no samples', () => {
    expect(percentile([], 50)).toBeNaN();
    expect(summarize([]).max).toBeNaN();
  });

  it('should summarize unsorted samples without changing them', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarize(samples)).toEqual({ count: 5, p50: 3, p95: 5, p99: 5, max: 5 });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
    expect(median([9, 1, 5])).toBe(5);
  });

  it('should give NaN for a ratio to zero and round to three significant digits below 100', () => {
    expect(ratio(1, 0)).toBeNaN();
    expect(ratio(3, 4)).toBe(0.75);
    expect(round(0.123456)).toBe(0.123);
    expect(round(12.3456)).toBe(12.3);
    expect(round(1234.5)).toBe(1235);
  });

  it('should pair arrivals with responses, pass over unknown ids and count an event before its response as 0', () => {
    const responded = new Map([
      ['a', 100],
      ['b', 200],
    ]);
    const arrivals: [string, number][] = [
      ['a', 102.5],
      ['stale', 150],
      ['b', 199],
    ];
    expect(pairedDelays(responded, arrivals)).toEqual([2.5, 0]);
  });
});
