/**
 * Which ephemeral groups a sweep deletes. An ephemeral group belongs to the gateway process whose commits it holds
 * (the instance id in their metadata); every live process renews a presence commit of its own every few seconds. A
 * group is swept when its owner is gone: its presence commit is older than `staleAfterMs`, or it has none and this
 * sweeper has known of the owner for `staleAfterMs` (a process that just started, or whose presence commit failed
 * once, is not taken for dead). Liveness is per process, not per group: a live gateway commits an idle ephemeral group
 * rarely (once, then when it moves), so the group's own commit time cannot tell in use from abandoned.
 */

/** An ephemeral group (or a presence group) as a sweep sees it. */
export interface SweepCandidate {
  readonly groupId: string;
  /** The gateway process that committed it; undefined when no gateway's commit is there. */
  readonly owner: string | undefined;
}

export interface SweepView {
  /** This process: its groups are never swept, whatever its presence commit says. */
  readonly self: string;
  /** Per owner, its presence commit's time (epoch ms by its clock); absent or undefined when it has none. */
  readonly presenceAt: ReadonlyMap<string, number | undefined>;
  /** When this sweeper first saw each owner, or each group without one (keyed by `firstSeenKey`). */
  readonly firstSeen: ReadonlyMap<string, number>;
  readonly now: number;
  readonly staleAfterMs: number;
}

/** The key of `firstSeen` for a candidate: its owner, or the group itself when it has none. */
export const firstSeenKey = (candidate: SweepCandidate): string =>
  candidate.owner === undefined ? `group:${candidate.groupId}` : `owner:${candidate.owner}`;

/** Whether the candidate's owner (or, without one, the group itself) has been silent for `staleAfterMs`. */
export function isAbandoned(candidate: SweepCandidate, view: SweepView): boolean {
  const { owner } = candidate;
  if (owner === view.self) return false;
  const presence = owner === undefined ? undefined : view.presenceAt.get(owner);
  if (presence !== undefined) return view.now - presence > view.staleAfterMs;
  const seen = view.firstSeen.get(firstSeenKey(candidate));
  return seen !== undefined && view.now - seen >= view.staleAfterMs;
}

/** The candidates to delete (a caller still checks with Kafka that each has no members). */
export const groupsToSweep = (candidates: Iterable<SweepCandidate>, view: SweepView): string[] =>
  [...candidates].filter((candidate) => isAbandoned(candidate, view)).map((candidate) => candidate.groupId);

/** The wait before the next sweep: 50-150% of the mean, so gateways started together do not sweep together. */
export const nextSweepDelay = (meanMs: number, random: () => number = Math.random): number => Math.round(meanMs * (0.5 + random()));

/** How often a live process renews its presence commit: several times within `staleAfterMs`, so one failed renewal or a skewed clock is not taken for death. */
export const presenceRenewMs = (staleAfterMs: number): number => Math.max(100, Math.floor(staleAfterMs / 6));

/** Splits ids into requests of at most `size` (deleteGroups and describeGroups take lists). */
export function batches<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}
