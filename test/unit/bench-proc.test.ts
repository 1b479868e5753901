import { describe, expect, it } from 'vitest';
import { listenerPid } from '../../bench/lib/listeners.js';
import { parseProcStat, parseRssBytes, processMeter } from '../../bench/lib/proc.js';

describe('reading CPU and memory from /proc', () => {
  it('should read utime and stime, counting fields after the command name even when it holds spaces and parentheses', () => {
    const line = '4242 (node (my) app) S 1 4242 4242 0 -1 4194304 1000 0 0 0 1234 567 0 0 20 0 11 0 100 1000000 5000 18446744073709551615';
    expect(parseProcStat(line)).toEqual({ user: 1234, system: 567 });
  });

  it('should refuse a line that is not a stat line', () => {
    expect(() => parseProcStat('garbage')).toThrow();
  });

  it('should read VmRSS in bytes', () => {
    expect(parseRssBytes('Name:\tnode\nVmPeak:\t  900 kB\nVmRSS:\t  102400 kB\nThreads: 11\n')).toBe(102400 * 1024);
    expect(() => parseRssBytes('Name: node\n')).toThrow();
  });

  it('should read this process: CPU time that grows while it works, and a resident size', () => {
    const meter = processMeter(process.pid);
    const before = meter.cpuMs();
    // The kernel counts CPU time in clock ticks (10 ms): work until one more is counted, or give up after 5 s, so a
    // meter stuck at one value fails instead of passing `>=`.
    const deadline = performance.now() + 5000;
    // A tick may land between the two reads, so nothing is asserted of how long it spun (it once did not at all).
    while (meter.cpuMs() <= before && performance.now() < deadline) Math.hypot(...Array.from({ length: 1e4 }, (_, i) => i));
    expect(meter.cpuMs()).toBeGreaterThan(before);
    expect(meter.mainThreadCpuMs()).toBeGreaterThan(0);
    // The kernel splits each figure into user and system time on its own (cputime_adjust), so the main thread's sum
    // can pass the process's by a clock tick (10 ms). More than that is a wrong reading.
    expect(meter.mainThreadCpuMs()).toBeLessThanOrEqual(meter.cpuMs() + 10);
    expect(meter.rssBytes()).toBeGreaterThan(0);
  });

  it('should find the pid listening on a port in ss output', () => {
    const ss = [
      'LISTEN 0      50     [::ffff:127.0.0.1]:9092        *:* users:(("java",pid=5863,fd=145))',
      'LISTEN 0      511          127.0.0.1:19092        0.0.0.0:* users:(("node",pid=77,fd=20))',
    ].join('\n');
    expect(listenerPid(ss, 9092)).toBe(5863);
    expect(listenerPid(ss, 19092)).toBe(77);
    expect(listenerPid(ss, 92)).toBeNull();
  });
});
