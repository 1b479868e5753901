/** What every client process of the bench reports of its subscriptions. */
export interface ClientCounts {
  readonly open: number;
  readonly ready: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly received: number;
}

/** The counts of several client processes as one: sums, and the first error any of them saw. */
export function sumClientCounts(all: readonly ClientCounts[]): ClientCounts {
  return {
    open: all.reduce((n, s) => n + s.open, 0),
    ready: all.reduce((n, s) => n + s.ready, 0),
    errors: all.reduce((n, s) => n + s.errors, 0),
    firstError: all.find((s) => s.firstError !== null)?.firstError ?? null,
    received: all.reduce((n, s) => n + s.received, 0),
  };
}
