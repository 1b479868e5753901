import type { Logger } from '../logger.js';
import { lastCommitAt } from './commit-metadata.js';
import type { HeldGroup } from './group-offsets.js';
import type { LogClient } from './log-client.js';

/** How far one durable group's committed offsets are behind the end of the topic. */
export interface GroupLagEntry {
  readonly groupId: string;
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

/** What is known of a group no subscription of this process holds, as of the last refresh. */
interface Unheld {
  readonly lag: number;
  readonly lastUsedAt: number | undefined;
}

export interface GroupLagOptions {
  readonly log: LogClient;
  readonly topic: string;
  readonly logger: Logger;
  /** Which of the groups Kafka lists are followed: the durable subscription groups of this gateway. */
  readonly isTracked: (groupId: string) => boolean;
  /** How often the groups this process does not hold are listed and their committed offsets read. */
  readonly refreshMs: number;
  /** Most groups not held here that are followed; a refresh sends at most this many offset fetches. @default 1000 */
  readonly maxUnheld?: number;
  /** Offset fetches in flight at once during a refresh. @default 8 */
  readonly concurrency?: number;
}

/** What the engine knows at every read: the groups it holds and where its live read of each partition stands. */
export interface GroupLagView {
  held(): Iterable<HeldGroup>;
  /** The next offset of each partition (the topic's end as the live read last saw it); undefined before it started. */
  ends(): ReadonlyMap<number, bigint> | undefined;
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

/**
 * The lag of every durable group, for metrics. A group this process holds costs nothing to measure: its last commit
 * and the live read's end are both here, so it is computed at each read. Other durable groups (a subscriber that went
 * away, here or from another gateway process) are listed and their offsets fetched every `refreshMs`, never per read,
 * and their lag is the one at that refresh. A group this process lets go is carried over at once with its last commit.
 */
export class GroupLag {
  readonly #options: GroupLagOptions;
  readonly #view: GroupLagView;
  /** Groups not held here: their lag at the last refresh (or at release). Oldest first, for eviction. */
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

  /** The last member of a durable group here left, with these offsets committed. */
  released(groupId: string, offsets: ReadonlyMap<number, bigint>): void {
    if (!this.#options.isTracked(groupId)) return;
    const ends = this.#view.ends();
    // Its time is read from Kafka at the next refresh (the commit just made carries it).
    if (ends) this.#remember(groupId, { lag: lagOf(offsets, ends), lastUsedAt: this.#unheld.get(groupId)?.lastUsedAt });
  }

  /** Every followed group: those held here with their lag now, the others with their lag at the last refresh. */
  snapshot(): GroupLagEntry[] {
    const entries: GroupLagEntry[] = [];
    const held = new Set<string>();
    const ends = this.#view.ends();
    for (const group of this.#view.held()) {
      if (group.kind !== 'durable' || !this.#options.isTracked(group.id)) continue;
      held.add(group.id);
      if (ends) entries.push({ groupId: group.id, lag: lagOf(group.committed, ends), connected: true });
    }
    for (const [groupId, { lag, lastUsedAt }] of this.#unheld) {
      if (!held.has(groupId)) entries.push({ groupId, lag, connected: false, ...(lastUsedAt !== undefined && { lastUsedAt }) });
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
    const { log, topic, isTracked, maxUnheld = 1000, concurrency = 8 } = this.#options;
    let listed: string[];
    let ends: ReadonlyMap<number, bigint>;
    try {
      [listed, ends] = await Promise.all([log.listGroups(), this.#currentEnds()]);
    } catch (error) {
      this.#failed(error);
      return;
    }
    if (this.#closed) return;
    const heldBefore = this.#heldIds();
    const tracked = new Set(listed.filter((groupId) => isTracked(groupId) && !heldBefore.has(groupId)));
    // Groups deleted from Kafka, or taken up here since, are no longer followed as unheld ones.
    for (const groupId of this.#unheld.keys()) if (!tracked.has(groupId)) this.#unheld.delete(groupId);
    // Already followed ones first, so a crowd of new groups cannot push them out.
    const queue = [...new Set([...this.#unheld.keys(), ...tracked])].slice(0, maxUnheld);
    const lags = new Map<string, Unheld | undefined>();
    let failure: unknown;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
        for (let groupId = queue.shift(); groupId !== undefined; groupId = queue.shift()) {
          try {
            const committed = await log.committed(groupId, topic);
            const offsets = new Map([...committed].map(([partition, { offset }]) => [partition, offset]));
            lags.set(groupId, offsets.size === 0 ? undefined : { lag: lagOf(offsets, ends), lastUsedAt: lastCommitAt(committed.values()) });
          } catch (error) {
            // This group keeps its figure from before.
            failure ??= error;
          }
        }
      }),
    );
    if (this.#closed) return;
    const heldNow = this.#heldIds();
    for (const [groupId, lag] of lags) {
      if (heldNow.has(groupId)) continue;
      if (lag === undefined) this.#unheld.delete(groupId);
      else this.#remember(groupId, lag);
    }
    if (failure === undefined) this.#failing = false;
    else this.#failed(failure);
  }

  /** One line per outage rather than one per refresh. */
  #failed(error: unknown): void {
    if (this.#failing || this.#closed) return;
    this.#failing = true;
    this.#options.logger.warn(
      { err: error, topic: this.#options.topic },
      'could not read the offsets of consumer groups for their lag; will retry',
    );
  }

  /** The live read's ends; before it started (no subscription yet), the topic's high watermarks. */
  async #currentEnds(): Promise<ReadonlyMap<number, bigint>> {
    const ends = this.#view.ends();
    if (ends) return ends;
    const marks = await this.#options.log.watermarks(this.#options.topic);
    return new Map([...marks].map(([partition, { high }]) => [partition, high]));
  }

  #heldIds(): Set<string> {
    const ids = new Set<string>();
    for (const group of this.#view.held()) ids.add(group.id);
    return ids;
  }

  /** Latest last, so that beyond the bound the group followed longest without news goes first. */
  #remember(groupId: string, unheld: Unheld): void {
    this.#unheld.delete(groupId);
    this.#unheld.set(groupId, unheld);
    const { maxUnheld = 1000 } = this.#options;
    for (const oldest of this.#unheld.keys()) {
      if (this.#unheld.size <= maxUnheld) break;
      this.#unheld.delete(oldest);
    }
  }
}
