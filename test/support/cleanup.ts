/**
 * For tests that start brokers or gateway processes: their inner waits (process start-up up to 60 s, a broker
 * restart, a 10 s session timeout) add up past vitest's default on a loaded 2-core machine.
 */
export const PROCESS_TEST_TIMEOUT_MS = 240_000;

/** What a test file must undo, run last-in first-out. Every step runs even when an earlier one fails. */
export interface CleanupList {
  push(...steps: (() => unknown)[]): void;
  run(): Promise<void>;
}

export function cleanupList(): CleanupList {
  const steps: (() => unknown)[] = [];
  return {
    push: (...added) => void steps.push(...added),
    async run() {
      const failures: unknown[] = [];
      for (const step of steps.splice(0).reverse()) {
        try {
          await step();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) throw new AggregateError(failures, `${failures.length} clean-up step(s) failed`);
    },
  };
}
