import type { Logger } from '../logger.js';
import { lastCommitAt } from './commit-metadata.js';
import type { HeldGroup } from './group-offsets.js';
import type { LogClient } from './log-client.js';

/** How far one durable group's committed offsets on one topic are behind the end of that topic. */
export interface GroupLagEntry {
  readonly groupId: string;
  readonly topic: string;
  /** Records, summed over the partitions the group has offsets for. */
  readonly lag: number;
  /** True when this process holds the group (a subscriber is connected here): the figure is current at every read. */
  readonly connected: boolean;
  /**
   * Not connected: when a gateway last committed the group (epoch ms, read from its commits' metadata at the last
   * refresh), that is when a subscription last used it. Absent for a connected group, and for one whose commits carry
   * no time (written by an older gateway or an operator's tool).
   */
  readonly lastUsedAt?: number;
}

/** What is known of a group on a topic no subscription of this process holds, as of the last refresh. */
interface Unheld {
  readonly groupId: string;
  readonly topic: string;
  readonly lag: number;
  readonly lastUsedAt: number | undefined;
}

export interface GroupLagOptions {
  readonly log: LogClient;
  readonly logger: Logger;
  /** Which of the groups Kafka lists are followed: the durable subscription groups of this gateway. */
  readonly isTracked: (groupId: string) => boolean;
  /** How often the groups this process does not hold are listed and their committed offsets read. */
  readonly refreshMs: number;
  /** Most (group, topic) pairs not held here that are followed; a refresh sends at most this many offset fetches. @default 1000 */
  readonly maxUnheld?: number;
  /** Offset fetches in flight at once during a refresh. @default 8 */
  readonly concurrency?: number;
}

/** What the engine knows at every read: the groups it holds and where its live read of each topic stands. */
export interface GroupLagView {
  held(): Iterable<HeldGroup>;
  /** The next offset of each partition of `topic` (its end as the live read last saw it); undefined while it has no live read. */
  ends(topic: string): ReadonlyMap<number, bigint> | undefined;
  /** The topics whose offsets a group not held here is looked up on: every topic subscriptions may read. */
  topics(): readonly string[];
}

/** Records from `committed` to `ends`, over the partitions the group has an offset for. */
export function lagOf(committed: ReadonlyMap<number, bigint> | undefined, ends: ReadonlyMap<number, bigint>): number {
  let lag = 0;
  if (!committed) return lag;
  for (const [partition, offset] of committed) {
    const end = ends.get(partition);
    if (end !== undefined && end > offset) lag += Number(end - offset);
  }
  return lag;
}

const pairKey = (groupId: string, topic: string) => `${groupId}\n${topic}`;

/**
 * The lag of every durable group on every topic it has offsets for, for metrics. A group this process holds costs
 * nothing to measure: its last commit and the live read's end are both here, so it is computed at each read. Other
 * durable groups (a subscriber that went away, here or from another gateway process) are listed and their offsets on
 * each topic fetched every `refreshMs`, never per read, and their lag is the one at that refresh. A group this process
 * lets go is carried over at once with its last commit.
 */
export class GroupLag {
  readonly #options: GroupLagOptions;
  readonly #view: GroupLagView;
  /** (group, topic) pairs not held here: their lag at the last refresh (or at release). Oldest first, for eviction. */
  readonly #unheld = new Map<string, Unheld>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  #failing = false;
  #closed = false;

  constructor(options: GroupLagOptions, view: GroupLagView) {
    this.#options = options;
    this.#view = view;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.refresh(), this.#options.refreshMs);
    this.#timer.unref();
  }

  /** Stops refreshing. A refresh in flight is not waited for (with Kafka away it sits in the client's retries): its answers are dropped. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#closed = true;
  }

  /** The last member of a durable group here left a topic, with these offsets committed. */
  released(groupId: string, topic: string, offsets: ReadonlyMap<number, bigint>): void {
    if (!this.#options.isTracked(groupId)) return;
    const ends = this.#view.ends(topic);
    // Its time is read from Kafka at the next refresh (the commit just made carries it).
    const lastUsedAt = this.#unheld.get(pairKey(groupId, topic))?.lastUsedAt;
    if (ends) this.#remember({ groupId, topic, lag: lagOf(offsets, ends), lastUsedAt });
  }

  /** Every followed group and topic: those held here with their lag now, the others with their lag at the last refresh. */
  snapshot(): GroupLagEntry[] {
    const entries: GroupLagEntry[] = [];
    const held = new Set<string>();
    for (const group of this.#view.held()) {
      if (group.kind !== 'durable' || !this.#options.isTracked(group.id)) continue;
      held.add(pairKey(group.id, group.topic));
      const ends = this.#view.ends(group.topic);
      if (ends) entries.push({ groupId: group.id, topic: group.topic, lag: lagOf(group.committed, ends), connected: true });
    }
    for (const [key, { groupId, topic, lag, lastUsedAt }] of this.#unheld) {
      if (!held.has(key)) entries.push({ groupId, topic, lag, connected: false, ...(lastUsedAt !== undefined && { lastUsedAt }) });
    }
    return entries;
  }

  /** Lists the groups, and reads the committed offsets of those not held here (exposed for tests). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #refresh(): Promise<void> {
    const { log, isTracked, maxUnheld = 1000, concurrency = 8 } = this.#options;
    const topics = this.#view.topics();
    let listed: string[];
    const ends = new Map<string, ReadonlyMap<number, bigint>>();
    try {
      const [groups, topicEnds] = await Promise.all([
        log.listGroups(),
        // A topic that does not exist (yet) has no lag to report.
        Promise.all(topics.map((topic) => this.#currentEnds(topic).catch(() => undefined))),
      ]);
      listed = groups;
      topics.forEach((topic, i) => {
        const known = topicEnds[i];
        if (known) ends.set(topic, known);
      });
    } catch (error) {
      this.#failed(error);
      return;
    }
    if (this.#closed) return;
    const heldBefore = this.#heldKeys();
    const tracked = new Map<string, { groupId: string; topic: string }>();
    for (const groupId of listed) {
      if (!isTracked(groupId)) continue;
      for (const topic of ends.keys()) {
        const key = pairKey(groupId, topic);
        if (!heldBefore.has(key)) tracked.set(key, { groupId, topic });
      }
    }
    // Groups deleted from Kafka, or taken up here since, are no longer followed as unheld ones.
    for (const key of this.#unheld.keys()) if (!tracked.has(key)) this.#unheld.delete(key);
    // Already followed ones first, so a crowd of new groups cannot push them out.
    const order = [...new Set([...this.#unheld.keys(), ...tracked.keys()])].slice(0, maxUnheld);
    const queue = order.flatMap((key) => tracked.get(key) ?? []);
    const lags = new Map<string, Unheld | undefined>();
    let failure: unknown;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let pair = queue.shift(); pair !== undefined; pair = queue.shift()) {
          const { groupId, topic } = pair;
          try {
            const committed = await log.committed(groupId, topic);
            const offsets = new Map([...committed].map(([partition, { offset }]) => [partition, offset]));
            const topicEnds = ends.get(topic) ?? new Map<number, bigint>();
            lags.set(
              pairKey(groupId, topic),
              offsets.size === 0
                ? undefined
                : { groupId, topic, lag: lagOf(offsets, topicEnds), lastUsedAt: lastCommitAt(committed.values()) },
            );
          } catch (error) {
            // This pair keeps its figure from before.
            failure ??= error;
          }
        }
      }),
    );
    if (this.#closed) return;
    const heldNow = this.#heldKeys();
    for (const [key, lag] of lags) {
      if (heldNow.has(key)) continue;
      if (lag === undefined) this.#unheld.delete(key);
      else this.#remember(lag);
    }
    if (failure === undefined) this.#failing = false;
    else this.#failed(failure);
  }

  /** One line per outage rather than one per refresh. */
  #failed(error: unknown): void {
    if (this.#failing || this.#closed) return;
    this.#failing = true;
    this.#options.logger.warn({ err: error }, 'could not read the offsets of consumer groups for their lag; will retry');
  }

  /** The live read's ends; without one (no subscription to the topic now), the topic's high watermarks. */
  async #currentEnds(topic: string): Promise<ReadonlyMap<number, bigint>> {
    const ends = this.#view.ends(topic);
    if (ends) return ends;
    const marks = await this.#options.log.watermarks(topic);
    return new Map([...marks].map(([partition, { high }]) => [partition, high]));
  }

  #heldKeys(): Set<string> {
    const keys = new Set<string>();
    for (const group of this.#view.held()) keys.add(pairKey(group.id, group.topic));
    return keys;
  }

  /** Latest last, so that beyond the bound the pair followed longest without news goes first. */
  #remember(unheld: Unheld): void {
    const key = pairKey(unheld.groupId, unheld.topic);
    this.#unheld.delete(key);
    this.#unheld.set(key, unheld);
    const { maxUnheld = 1000 } = this.#options;
    for (const oldest of this.#unheld.keys()) {
      if (this.#unheld.size <= maxUnheld) break;
      this.#unheld.delete(oldest);
    }
  }
}
