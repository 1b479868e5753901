/**
 * Retries an admin call through the broker's transient states (a topic just
 * created has no partition leader yet; leadership moves during a restart),
 * with a growing pause, until it succeeds, `giveUp()` says stop, or the
 * deadline passes; then the last error is thrown.
 */
export async function retryTransient<T>(
  call: () => Promise<T>,
  giveUp: () => boolean,
  onRetry: (error: unknown, pauseMs: number) => void,
  deadlineMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (let pauseMs = 100; ; pauseMs = Math.min(pauseMs * 2, 1000)) {
    try {
      return await call();
    } catch (error) {
      if (giveUp() || Date.now() + pauseMs > deadline) throw error;
      onRetry(error, pauseMs);
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  }
}
