/** Percentiles and summaries of latency samples (milliseconds). Pure, so they are unit-tested. */

/** The nearest-rank percentile of ascending `sorted`: the smallest sample with at least p% of samples at or below it. NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
  };
}

export const median = (samples: readonly number[]): number =>
  percentile(
    [...samples].sort((a, b) => a - b),
    50,
  );

/** a / b, or NaN when b is 0 or not a number. */
export const ratio = (a: number, b: number): number => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : Number.NaN);

/** Rounds for display: 3 significant digits below 100, whole numbers above. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Number(value.toPrecision(3));
}

/**
 * Response -> arrival delays of the events whose response time is known (others, from before a measurement
 * began, are passed over). An event that arrived before its response counts as 0: the response is written after
 * the commit, so it can lose the race.
 */
export function pairedDelays(respondedAt: ReadonlyMap<string, number>, arrivals: readonly (readonly [string, number])[]): number[] {
  const delays: number[] = [];
  for (const [id, arrivedAt] of arrivals) {
    const responded = respondedAt.get(id);
    if (responded !== undefined) delays.push(Math.max(0, arrivedAt - responded));
  }
  return delays;
}
