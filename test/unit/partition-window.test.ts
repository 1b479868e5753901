import { describe, expect, it } from 'vitest';
import { PartitionWindow, type StreamItem } from '../../src/streaming/partition-window.js';

const item = (offset: bigint): StreamItem<string> => ({ partition: 0, offset, timestamp: 0, key: null, value: `v${offset}` });

describe('PartitionWindow', () => {
  it('should serve the first record at or after a position, across offset gaps', () => {
    const window = new PartitionWindow<string>(10n, 100);
    window.append([item(10n), item(11n), item(14n)], 16n);
    expect(window.firstFrom(10n)?.offset).toBe(10n);
    expect(window.firstFrom(12n)?.offset).toBe(14n);
    expect(window.firstFrom(15n)).toBeUndefined();
    expect(window.end).toBe(16n);
  });

  it('should evict the oldest records beyond capacity and raise its base past them', () => {
    const window = new PartitionWindow<string>(0n, 3);
    window.append([0n, 1n, 2n, 3n, 4n].map(item), 5n);
    expect(window.size).toBe(3);
    expect(window.base).toBe(2n);
    expect(window.firstFrom(1n)).toBeUndefined();
    expect(window.firstFrom(2n)?.offset).toBe(2n);
  });

  it('should ignore records below its end (a repeated fetch), keeping offsets in order', () => {
    const window = new PartitionWindow<string>(0n, 10);
    window.append([item(0n), item(1n)], 2n);
    window.append([item(1n), item(2n)], 3n);
    expect(window.size).toBe(3);
    expect([0n, 1n, 2n].map((o) => window.firstFrom(o)?.offset)).toEqual([0n, 1n, 2n]);
  });

  it('should keep serving correctly after compacting thousands of evictions', () => {
    const window = new PartitionWindow<string>(0n, 10);
    for (let i = 0n; i < 5000n; i++) window.append([item(i)], i + 1n);
    expect(window.base).toBe(4990n);
    expect(window.firstFrom(4995n)?.value).toBe('v4995');
  });
});
