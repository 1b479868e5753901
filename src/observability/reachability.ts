import type { ReadinessCheck } from '../transport/health.js';

export interface ReachabilityProbe {
  /** The last answer of each check, by name; absent until its first probe ended. */
  readonly state: ReadonlyMap<string, boolean>;
  start(): void;
  /** Stops probing; a probe in flight (at most its check's own timeout) is not waited for. */
  stop(): void;
}

/**
 * Runs the readiness checks every `intervalMs`, away from scrapes: a scrape reads the last answers, and never waits
 * on a dependency (a Kafka probe opens a connection of its own).
 */
export function reachabilityProbe(checks: readonly ReadinessCheck[], intervalMs: number): ReachabilityProbe {
  const state = new Map<string, boolean>();
  let timer: NodeJS.Timeout | undefined;
  let probing = false;
  const probe = () => {
    // A probe still out (each check has a timeout of its own) is not doubled.
    if (probing) return;
    probing = true;
    void Promise.all(
      checks.map(async ({ name, check }) => {
        state.set(name, await check().catch(() => false));
      }),
    ).finally(() => {
      probing = false;
    });
  };
  return {
    state,
    start() {
      if (timer) return;
      timer = setInterval(probe, intervalMs);
      timer.unref();
      probe();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
