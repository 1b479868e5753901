/**
 * What the demo's view says about each downstream system, from what it observed: pure functions, unit-tested
 * (test/unit/demo-view.test.ts).
 */

/** A consumer group's lag: records, `null` before the group has committed any offset, `undefined` when Kafka did not answer. */
export type Lag = number | null | undefined;

export interface PartitionEnd {
  partition: number;
  /** The log start offset (earlier records are deleted). */
  low: string;
  /** The offset the next record gets. */
  high: string;
}

export interface CommittedOffset {
  partition: number;
  /** The next offset the group reads; '-1' when it committed none on this partition. */
  offset: string;
}

/**
 * Records of the topic the group has not committed: per partition, the end minus the committed offset (or minus
 * the log start where it committed none, as a new member would start there). Never negative; null when the group
 * has committed nothing at all, which is not the same as being behind.
 */
export function groupLag(ends: readonly PartitionEnd[], committed: readonly CommittedOffset[]): number | null {
  const at = new Map(committed.filter((c) => Number(c.offset) >= 0).map((c) => [c.partition, Number(c.offset)]));
  if (at.size === 0) return null;
  return ends.reduce((sum, end) => {
    const from = Math.max(at.get(end.partition) ?? Number(end.low), Number(end.low));
    return sum + Math.max(0, Number(end.high) - from);
  }, 0);
}

/** Records a topic still retains: what a group that committed nothing on it has not read. */
export const retained = (ends: readonly PartitionEnd[]): number =>
  ends.reduce((sum, end) => sum + Math.max(0, Number(end.high) - Number(end.low)), 0);

/**
 * The lag of a group that reads several topics, from its lag on each: a topic it committed nothing on counts with
 * every record it retains, and the whole is null only when the group committed on none of them (notify before
 * anything is published is not behind).
 */
export function combinedLag(perTopic: readonly { lag: number | null; retained: number }[]): number | null {
  if (perTopic.every((topic) => topic.lag === null)) return null;
  return perTopic.reduce((sum, topic) => sum + (topic.lag ?? topic.retained), 0);
}

export const lagText = (lag: Lag): string => (lag === undefined ? '?' : lag === null ? 'no offsets yet' : String(lag));

/**
 * How many records a group in step may still have uncommitted: those settled within its commit interval (the
 * gateway commits a durable subscriber's offsets every OFFSETS_COMMIT_INTERVAL_MS) plus the time the lag reading
 * and the relay take (`slackMs`).
 */
export function commitAllowance(settledAt: readonly number[], now: number, commitIntervalMs: number, slackMs = 2000): number {
  const since = now - commitIntervalMs - slackMs;
  return settledAt.filter((at) => at > since).length;
}

export interface ObservedSystem {
  running: boolean;
  /** Orders of this run the system should have and does not. */
  missing: number;
  lag: Lag;
}

export type SystemState =
  | { kind: 'stopped' }
  | { kind: 'in step' }
  | { kind: 'no offsets yet' }
  | { kind: 'catching up'; missing: number; uncommitted: number | undefined };

/**
 * In step: running, every settled order of its own seen, and committed offsets no further behind than what settled
 * within the commit interval (`allowance`): a durable group's offsets trail by up to that interval while orders flow.
 */
export function systemState(system: ObservedSystem, allowance: number): SystemState {
  if (!system.running) return { kind: 'stopped' };
  if (system.missing === 0 && typeof system.lag === 'number' && system.lag <= allowance) return { kind: 'in step' };
  if (system.missing === 0 && system.lag === null) return { kind: 'no offsets yet' };
  return { kind: 'catching up', missing: system.missing, uncommitted: system.lag ?? undefined };
}

export function stateText(state: SystemState): string {
  if (state.kind !== 'catching up') return state.kind === 'stopped' ? 'STOPPED' : state.kind;
  const behind = [
    ...(state.missing > 0 ? [`${state.missing} missing`] : []),
    ...(state.uncommitted !== undefined && state.missing === 0 ? [`${state.uncommitted} uncommitted`] : []),
  ];
  return `catching up${behind.length > 0 ? ` (${behind.join(', ')})` : ''}`;
}

/**
 * The systems that are in step now and were not at the last look (`wasInStep` false: stopped, killed or behind
 * since). A system seen for the first time is not "caught up": it was never behind in this view.
 */
export function newlyInStep(wasInStep: ReadonlyMap<string, boolean>, now: ReadonlyMap<string, boolean>): string[] {
  return [...now].filter(([name, inStep]) => inStep && wasInStep.get(name) === false).map(([name]) => name);
}
