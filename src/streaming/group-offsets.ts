import type { Logger } from '../logger.js';
import { commitMetadata, GATEWAY_COMMIT_TAG } from './commit-metadata.js';
import type { CommittedOffset, LogClient } from './log-client.js';

export { GATEWAY_COMMIT_TAG };

export type GroupKind = 'durable' | 'ephemeral';

/** One subscription reading through a group. */
export interface GroupMember {
  /** Per partition, the offset before which everything was delivered to the client or skipped by its filter. */
  committable(): ReadonlyMap<number, bigint>;
  /** Someone outside the gateway moved the group's offsets: go on from there. */
  reposition(offsets: ReadonlyMap<number, bigint>): void;
}

export interface GroupOffsetsOptions {
  readonly log: LogClient;
  readonly logger: Logger;
  /** This process, in the metadata of its commits. */
  readonly instanceId: string;
  /** How often changed offsets are committed. */
  readonly commitIntervalMs: number;
  /** How often a connected durable group's offsets are committed again, unchanged, so the broker's retention keeps them. */
  readonly refreshMs: number;
  /** How often an ephemeral group's offsets are committed (they only show operators its lag). @default 60000 */
  readonly ephemeralCommitIntervalMs?: number;
  /** Commit requests in flight at once. @default 32 */
  readonly concurrency?: number;
  /**
   * OffsetCommit requests per second over every group (0: no limit). Past it, the groups whose offsets moved longest
   * ago go first, so each waits its turn rather than the busiest starving the others. A final commit (a group's last
   * member leaving) is never held back. @default 0
   */
  readonly commitsPerSecond?: number;
  /** The last member of a durable group on a topic left and its offsets were committed: what the group now holds there (for its lag). */
  readonly onReleased?: (groupId: string, topic: string, offsets: ReadonlyMap<number, bigint>) => void;
}

/** A group this process holds on one topic, as `held()` shows it (a durable group following several topics is one per topic). */
export interface HeldGroup {
  readonly id: string;
  readonly topic: string;
  readonly kind: GroupKind;
  /** Its last commit (or an adopted reset); undefined before the first one. */
  readonly committed: ReadonlyMap<number, bigint> | undefined;
}

interface GroupState {
  readonly id: string;
  readonly topic: string;
  readonly kind: GroupKind;
  readonly members: Set<GroupMember>;
  /** What the group holds as far as this process knows: its last commit, or an adopted reset. */
  committed: ReadonlyMap<number, bigint> | undefined;
  committedAt: number;
  /** When its members' positions first differed from `committed` since its last commit (undefined: they do not). */
  movedAt: number | undefined;
  /** The commit (or deletion) in flight, so the next one waits for it. */
  busy: Promise<void>;
  /** Settles once the group's start is in Kafka (durable), or its first commit was tried (ephemeral). */
  started: Promise<void>;
}

const groupKey = (groupId: string, topic: string) => `${groupId}\n${topic}`;

// Loops, not spreads: the commit loop runs these for every held group every interval, thousands of them.
function sameOffsets(a: ReadonlyMap<number, bigint> | undefined, b: ReadonlyMap<number, bigint>): boolean {
  if (a === undefined || a.size !== b.size) return false;
  for (const [partition, offset] of b) if (a.get(partition) !== offset) return false;
  return true;
}

/**
 * Per partition, the lowest position of any member: the group never claims what one of its connections still lacks.
 * A lone member's own positions as they are (most groups have one): the commit copies what it sends.
 */
function lowest(members: ReadonlySet<GroupMember>): ReadonlyMap<number, bigint> {
  if (members.size === 1) for (const only of members) return only.committable();
  const result = new Map<number, bigint>();
  for (const member of members) {
    for (const [partition, offset] of member.committable()) {
      const known = result.get(partition);
      if (known === undefined || offset < known) result.set(partition, offset);
    }
  }
  return result;
}

/** Offsets an operator wrote over ours: a partition whose committed offset changed without a gateway's tag. */
function externalChange(
  ours: ReadonlyMap<number, bigint>,
  current: ReadonlyMap<number, CommittedOffset>,
): ReadonlyMap<number, bigint> | undefined {
  const changed = [...ours].some(([partition, offset]) => {
    const now = current.get(partition);
    return now?.offset !== offset && !now?.metadata?.startsWith(GATEWAY_COMMIT_TAG);
  });
  return changed ? new Map([...current].map(([partition, { offset }]) => [partition, offset])) : undefined;
}

/**
 * Keeps every subscription's consumer-group offsets in Kafka without joining the group: commits as a non-member,
 * batched on an interval for the groups whose offsets moved, re-commits connected durable groups before the broker's
 * retention would drop them, adopts an operator's reset instead of overwriting it, and deletes ephemeral groups.
 */
export class GroupOffsets {
  readonly #options: GroupOffsetsOptions;
  /** By groupKey(id, topic): a group's offsets on each topic are committed, adopted and released on their own. */
  readonly #groups = new Map<string, GroupState>();
  readonly #waiting: (() => void)[] = [];
  /** Final commits and deletions of groups already let go, which close() must still wait for. */
  readonly #finishing = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #running = 0;
  #ticking = false;
  #closed = false;
  #failures = { count: 0, loggedAt: 0 };

  constructor(options: GroupOffsetsOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.#tick(), this.#options.commitIntervalMs);
    this.#timer.unref();
  }

  /**
   * Registers a member and, for a group this process does not hold yet, commits its start positions (so it exists at
   * once), unless `held`: the group's committed offsets are these start positions already (COMMITTED found them), and
   * the commit loop re-commits them, off the subscribe path, to restart their retention clock.
   */
  async join(
    groupId: string,
    topic: string,
    kind: GroupKind,
    member: GroupMember,
    start: ReadonlyMap<number, bigint>,
    held = false,
    signal?: AbortSignal,
  ): Promise<void> {
    const key = groupKey(groupId, topic);
    let group = this.#groups.get(key);
    if (group) {
      group.members.add(member);
      await group.started;
      return;
    }
    group = {
      id: groupId,
      topic,
      kind,
      members: new Set([member]),
      committed: held ? new Map(start) : undefined,
      committedAt: 0,
      movedAt: undefined,
      busy: Promise.resolve(),
      started: Promise.resolve(),
    };
    this.#groups.set(key, group);
    if (held) return;
    const joining = group;
    group.started = kind === 'durable' ? this.#writeStart(joining, start, signal) : this.#queue(joining, () => this.#write(joining, start));
    await group.started;
  }

  /** Removes a member; the last one out commits where it stands (durable) or deletes the group (ephemeral). */
  async leave(groupId: string, topic: string, member: GroupMember): Promise<void> {
    const key = groupKey(groupId, topic);
    const group = this.#groups.get(key);
    if (!group?.members.has(member)) return;
    const final = group.members.size === 1 ? member.committable() : undefined;
    group.members.delete(member);
    if (group.members.size > 0) return;
    this.#groups.delete(key);
    const finishing =
      group.kind === 'ephemeral'
        ? this.#queue(group, () => this.#delete(group))
        : this.#queue(group, () => this.#commit(group, final ?? new Map())).then(() => {
            if (group.committed) this.#options.onReleased?.(group.id, group.topic, group.committed);
          });
    this.#finishing.add(finishing);
    await finishing.finally(() => this.#finishing.delete(finishing));
  }

  /** Stops the timer; groups still held are committed (or deleted) as their members leave. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.all([...this.#groups.values()].map((group) => group.busy));
    await Promise.all([...this.#finishing]);
  }

  get groupCount(): number {
    return this.#groups.size;
  }

  /** The groups this process holds now. */
  held(): Iterable<HeldGroup> {
    return this.#groups.values();
  }

  async #tick(): Promise<void> {
    if (this.#ticking) return;
    this.#ticking = true;
    try {
      const now = Date.now();
      const { refreshMs, ephemeralCommitIntervalMs = 60_000 } = this.#options;
      const due: { group: GroupState; target: ReadonlyMap<number, bigint>; since: number }[] = [];
      for (const group of this.#groups.values()) {
        const target = lowest(group.members);
        const age = now - group.committedAt;
        const changed = !sameOffsets(group.committed, target);
        if (changed) group.movedAt ??= now;
        const isDue = group.kind === 'durable' ? changed || age >= refreshMs : changed && age >= ephemeralCommitIntervalMs;
        // Moved offsets by how long they have waited; an unchanged refresh after every moved one.
        if (isDue) due.push({ group, target, since: changed ? (group.movedAt ?? now) : Number.MAX_SAFE_INTEGER });
      }
      await Promise.all(this.#withinBudget(due).map(({ group, target }) => this.#queue(group, () => this.#commit(group, target))));
    } finally {
      this.#ticking = false;
    }
  }

  /** The commits this tick may send: all of them without a budget, else the longest-waiting ones up to this tick's share. */
  #withinBudget<T extends { readonly since: number }>(due: T[]): T[] {
    const { commitsPerSecond = 0, commitIntervalMs } = this.#options;
    if (commitsPerSecond <= 0) return due;
    const share = Math.max(1, Math.floor((commitsPerSecond * commitIntervalMs) / 1000));
    if (due.length <= share) return due;
    return due.sort((a, b) => a.since - b.since).slice(0, share);
  }

  /**
   * A durable group's start positions, in Kafka before its subscription reads anything: a gateway that crashed before
   * its first interval would otherwise leave the group without offsets, and the reconnect (COMMITTED) would begin at
   * the end, past everything in between. Tried again while the commit fails, until the subscription is given up, the
   * engine closes, or another commit of the group landed meanwhile.
   */
  async #writeStart(group: GroupState, start: ReadonlyMap<number, bigint>, signal: AbortSignal | undefined): Promise<void> {
    for (let pauseMs = 100; !signal?.aborted && !this.#closed; pauseMs = Math.min(pauseMs * 2, 5_000)) {
      try {
        await this.#queue(group, () => (group.committed === undefined ? this.#write(group, start) : Promise.resolve()), true);
        return;
      } catch (error) {
        this.#failed(group.id, error);
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, pauseMs);
          signal?.addEventListener('abort', done, { once: true });
        });
      }
    }
  }

  /** Runs `work` after the group's previous commit, within the concurrency bound; rejects only if `rethrow`. */
  #queue(group: GroupState, work: () => Promise<void>, rethrow = false): Promise<void> {
    const run = group.busy.then(async () => {
      await this.#slot();
      try {
        await work();
      } catch (error) {
        if (rethrow) throw error;
        this.#failed(group.id, error);
      } finally {
        this.#release();
      }
    });
    group.busy = run.catch(() => {});
    return run;
  }

  /** One line per 10 s however many groups fail (a Kafka outage fails every one of them, every interval). */
  #failed(groupId: string, error: unknown): void {
    this.#failures.count++;
    const now = Date.now();
    if (now - this.#failures.loggedAt < 10_000) return;
    this.#options.logger.warn(
      { err: error, groupId, failedCommits: this.#failures.count },
      'could not commit the offsets of subscription groups; will retry',
    );
    this.#failures = { count: 0, loggedAt: now };
  }

  async #commit(group: GroupState, target: ReadonlyMap<number, bigint>): Promise<void> {
    const { log, logger } = this.#options;
    if (group.kind === 'durable' && group.committed) {
      const adopted = externalChange(group.committed, await log.committed(group.id, group.topic));
      if (adopted) {
        logger.warn(
          { groupId: group.id, topic: group.topic, offsets: Object.fromEntries([...adopted].map(([p, o]) => [p, String(o)])) },
          "the group's offsets were changed outside the gateway; its subscriptions go on from there",
        );
        for (const member of group.members) member.reposition(adopted);
        group.committed = adopted;
        group.committedAt = Date.now();
        return;
      }
    }
    await this.#write(group, target);
  }

  async #write(group: GroupState, offsets: ReadonlyMap<number, bigint>): Promise<void> {
    if (offsets.size === 0) return;
    // A copy before the await: a member's live positions may move on while the commit is in flight.
    const sent = new Map(offsets);
    // Stamped with the time: the last use of a durable group (metrics), and the owner of an ephemeral one (its sweep).
    await this.#options.log.commit(group.id, group.topic, sent, commitMetadata(this.#options.instanceId, Date.now()));
    group.committed = sent;
    group.committedAt = Date.now();
    group.movedAt = undefined;
  }

  async #delete(group: GroupState): Promise<void> {
    if (group.committed === undefined) return;
    for (let attempt = 1; ; attempt++) {
      const left = await this.#options.log.deleteGroups([group.id]);
      if (left.length === 0) return;
      if (attempt >= 5) throw new Error(`could not delete the ephemeral group ${group.id}`);
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }

  async #slot(): Promise<void> {
    if (this.#running >= (this.#options.concurrency ?? 32)) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
  }

  #release(): void {
    this.#running--;
    this.#waiting.shift()?.();
  }
}
