import type { ReadinessCheck } from '../transport/health.js';

export interface ReachabilityProbe {
  /** The last answer of each check, by name; absent until its first probe ended. */
  readonly state: ReadonlyMap<string, boolean>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Runs the readiness checks every `intervalMs`, away from scrapes: a scrape reads the last answers, and never waits
 * on a dependency (a Kafka probe opens a connection of its own).
 */
export function reachabilityProbe(checks: readonly ReadinessCheck[], intervalMs: number): ReachabilityProbe {
  const state = new Map<string, boolean>();
  let timer: NodeJS.Timeout | undefined;
  let probing: Promise<void> | undefined;
  const probe = () => {
    probing ??= Promise.all(
      checks.map(async ({ name, check }) => {
        state.set(name, await check().catch(() => false));
      }),
    ).then(() => {
      probing = undefined;
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
    // Not waiting for a probe in flight: each check ends (and closes what it opened) within its own timeout, and a
    // shutdown with Kafka away would otherwise spend that timeout here.
    async stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}
