import { describe, expect, it } from 'vitest';
import { sumClientCounts } from '../../bench/lib/client-counts.js';

describe('sumClientCounts', () => {
  it('should add the counts of every client process and keep the first error any of them saw', () => {
    const quiet = { open: 3, ready: 2, errors: 0, firstError: null, received: 10 };
    const failing = { open: 1, ready: 0, errors: 2, firstError: 'ECONNRESET', received: 4 };
    expect(sumClientCounts([quiet, failing, { ...failing, firstError: 'later' }])).toEqual({
      open: 5,
      ready: 2,
      errors: 4,
      firstError: 'ECONNRESET',
      received: 18,
    });
    expect(sumClientCounts([])).toEqual({ open: 0, ready: 0, errors: 0, firstError: null, received: 0 });
  });
});
