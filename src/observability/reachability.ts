/** One dependency the gateway needs to serve (PostgreSQL, Kafka), and how to ask whether it answers. */
export interface DependencyCheck {
  readonly name: string;
  /**
   * Resolves true when the dependency answered. It should settle within its own timeout (the adapters tear their
   * connection down when it passes): the next check of this dependency waits for it.
   */
  check(): Promise<boolean>;
}

/** Where a dependency stands: `pending` until its first check ended. */
export type DependencyStatus = 'pending' | 'up' | 'down';

export interface ReachabilityOptions {
  /** Time from the end of one check of a dependency to the start of the next. */
  readonly intervalMs: number;
  /** A check not answered by then counts as down at once (it stays the one in flight until it settles). @default 2000 */
  readonly timeoutMs?: number;
  /** Told of each check's outcome (metrics count them). */
  readonly onCheck?: (name: string, up: boolean) => void;
  /** Told when a dependency's answer differs from its last one (its first answer counts when it is down): one log line per outage. */
  readonly onChange?: (name: string, up: boolean) => void;
}

export interface ReachabilityProbe {
  /** The last answer of each check, by name; absent until its first check ended. */
  readonly state: ReadonlyMap<string, boolean>;
  /** Every dependency's status, in the order of the checks. */
  statuses(): [name: string, status: DependencyStatus][];
  /** True when every dependency answered its last check (false before the first answers). */
  ready(): boolean;
  start(): void;
  /** Stops probing; a check in flight is not waited for. */
  stop(): void;
}

/**
 * Checks each dependency on a schedule of its own, away from requests: /readyz and scrapes read the last answers, so
 * however many arrive, at most one check per dependency is in flight and none waits on a dependency.
 */
export function reachabilityProbe(checks: readonly DependencyCheck[], options: ReachabilityOptions): ReachabilityProbe {
  const { intervalMs, timeoutMs = 2000, onCheck, onChange } = options;
  const state = new Map<string, boolean>();
  const timers = new Map<string, NodeJS.Timeout>();
  let running = false;
  // A check still out when stop() and start() follow each other must not go on as a second schedule.
  let generation = 0;

  const probe = async ({ name, check }: DependencyCheck, started: number) => {
    const current = () => running && generation === started;
    if (!current()) return;
    let answered = false;
    const record = (up: boolean) => {
      answered = true;
      if (!current()) return;
      const before = state.get(name);
      state.set(name, up);
      onCheck?.(name, up);
      if (before === undefined ? !up : before !== up) onChange?.(name, up);
    };
    const late = setTimeout(() => record(false), timeoutMs).unref();
    const up = await check().catch(() => false);
    clearTimeout(late);
    if (!answered) record(up);
    // Scheduled from the end of this check, never beside it: one in flight per dependency, whatever happens.
    if (current()) timers.set(name, setTimeout(() => void probe({ name, check }, started), intervalMs).unref());
  };

  return {
    state,
    statuses: () => checks.map(({ name }) => [name, statusOf(state.get(name))]),
    ready: () => checks.every(({ name }) => state.get(name) === true),
    start() {
      if (running) return;
      running = true;
      generation++;
      for (const check of checks) void probe(check, generation);
    },
    stop() {
      running = false;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}

const statusOf = (up: boolean | undefined): DependencyStatus => (up === undefined ? 'pending' : up ? 'up' : 'down');
