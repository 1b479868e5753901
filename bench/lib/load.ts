/** Closed-loop and open-loop load. Latencies in ms. */

export interface LoadResult {
  elapsedMs: number;
  latencies: number[];
  errors: number;
  firstError?: unknown;
}

/** `task(i)` for i < total with `concurrency` workers, each sending its next call when the last one answered. */
export async function closedLoop(
  total: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
  onProgress?: (done: number) => void,
): Promise<LoadResult> {
  let next = 0;
  let errors = 0;
  let firstError: unknown;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        try {
          await task(i);
          latencies.push(performance.now() - t0);
        } catch (error) {
          errors++;
          firstError ??= error;
        }
        onProgress?.(latencies.length + errors);
      }
    }),
  );
  return { elapsedMs: performance.now() - started, latencies, errors, ...(firstError !== undefined && { firstError }) };
}

/**
 * Starts `task(i)` at a fixed rate whatever the answers (open loop), for `seconds`. Latency counts from the
 * moment a call was due, so a stalled server shows in the figures instead of slowing the sender down.
 */
export async function openLoop(
  ratePerSecond: number,
  seconds: number,
  task: (i: number) => Promise<unknown>,
  onProgress?: (sent: number) => void,
  /** Checked before each call: true ends the run early. */
  stop: () => boolean = () => false,
): Promise<LoadResult & { sent: number }> {
  const total = Math.round(ratePerSecond * seconds);
  const intervalMs = 1000 / ratePerSecond;
  const latencies: number[] = [];
  const calls: Promise<void>[] = [];
  let errors = 0;
  let firstError: unknown;
  const started = performance.now();
  let sent = 0;
  for (let i = 0; i < total && !stop(); i++, sent++) {
    const due = started + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    calls.push(
      task(i).then(
        () => {
          latencies.push(performance.now() - due);
        },
        (error: unknown) => {
          errors++;
          firstError ??= error;
        },
      ),
    );
    if (i % 50 === 0) onProgress?.(i);
  }
  await Promise.all(calls);
  return { elapsedMs: performance.now() - started, latencies, errors, sent, ...(firstError !== undefined && { firstError }) };
}
