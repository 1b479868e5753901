import { describe, expect, it } from 'vitest';
import { keyedOnceAfterCall, latestOffsetsOnce } from '../../src/streaming/latest-offsets.js';

describe('latestOffsetsOnce', () => {
  it('should share one request among callers that arrive while another is out, and never answer from a request sent before the call', async () => {
    let sent = 0;
    const releases: (() => void)[] = [];
    const latest = latestOffsetsOnce(async () => {
      const number = ++sent;
      await new Promise<void>((resolve) => releases.push(resolve));
      return new Map([[0, { low: 0n, high: BigInt(number) }]]);
    });
    const first = latest();
    await Promise.resolve();
    await Promise.resolve();
    expect(sent).toBe(1);
    // Both arrive while request 1 is out: they must wait for request 2, sent after them.
    const [second, third] = [latest(), latest()];
    releases.shift()?.();
    expect((await first).get(0)?.high).toBe(1n);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent).toBe(2);
    releases.shift()?.();
    expect((await second).get(0)?.high).toBe(2n);
    expect((await third).get(0)?.high).toBe(2n);
  });
});

describe('keyedOnceAfterCall', () => {
  it('should share requests per key only, and send a new one for a key asked again after its answer', async () => {
    const sent: number[] = [];
    const lookup = keyedOnceAfterCall(async (key: number) => {
      sent.push(key);
      return key * 10;
    });
    expect(await Promise.all([lookup(1), lookup(1), lookup(2)])).toEqual([10, 10, 20]);
    expect(sent.sort()).toEqual([1, 2]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await lookup(1)).toBe(10);
    expect(sent.filter((key) => key === 1)).toHaveLength(2);
  });
});
