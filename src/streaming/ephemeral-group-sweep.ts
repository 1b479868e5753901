import type { Logger } from '../logger.js';
import { commitMetadata, committedBy, lastCommitAt } from './commit-metadata.js';
import { batches, firstSeenKey, groupsToSweep, nextSweepDelay, presenceRenewMs, type SweepCandidate } from './ephemeral-sweep-rules.js';
import type { CommittedOffset, LogClient } from './log-client.js';

/** Reads a sweep needs beyond the log client, on a connection of their own (subscriptions' start lookups never wait for a sweep). */
export interface GroupInspector {
  /** The group's committed offsets on every topic, with their metadata (none for a group that does not exist). */
  committed(groupId: string): Promise<readonly CommittedOffset[]>;
  /** Kafka's state of each group (`Empty`, `Dead`, `Stable`, ...). */
  states(groupIds: readonly string[]): Promise<ReadonlyMap<string, string>>;
  close(): Promise<void>;
}

export interface EphemeralGroupSweepOptions {
  readonly log: Pick<LogClient, 'listGroups' | 'commit' | 'deleteGroups'>;
  readonly inspector: GroupInspector;
  /** The topic the presence group commits on (its offset means nothing; any topic that exists will do). */
  readonly topic: string;
  readonly logger: Logger;
  /** This process, as its commits name it. */
  readonly instanceId: string;
  /** Mean time between two sweeps; each wait is 50-150% of it. */
  readonly sweepMs: number;
  /** A process whose presence commit is older than this is taken for gone, and its ephemeral groups are swept. */
  readonly staleAfterMs: number;
  /** Which groups are ephemeral subscription groups (swept once their owner is gone). */
  readonly isEphemeral: (groupId: string) => boolean;
  /** The presence group of a process. */
  readonly presenceGroup: (instanceId: string) => string;
  /** The process a presence group belongs to; undefined for any other group. */
  readonly presenceOwner: (groupId: string) => string | undefined;
  /** Groups per describeGroups and deleteGroups request. @default 100 */
  readonly batchSize?: number;
  /** Offset fetches in flight at once while owners are looked up. @default 4 */
  readonly concurrency?: number;
}

export interface SweepOutcome {
  /** Ephemeral and presence groups of other processes listed. */
  readonly listed: number;
  /** Of those, whose owner is gone. */
  readonly abandoned: number;
  readonly deleted: number;
  /** Abandoned groups Kafka would not delete, or that had members. */
  readonly kept: number;
}

/** Runs `work` on every item, `limit` at a time; a failed item is reported to `failed` and skipped. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, failed: (error: unknown) => void) {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
        try {
          await work(item);
        } catch (error) {
          failed(error);
        }
      }
    }),
  );
}

const DELETABLE_STATES = new Set(['Empty', 'Dead']);

/**
 * Deletes the ephemeral groups of gateway processes that died without deleting them (SIGKILL, a lost host), on every
 * live process, on a jittered schedule. Each process renews a presence commit (`presenceGroup(instanceId)`); a group
 * is deleted only when the process whose commits it holds has let its presence go stale, and Kafka says the group has
 * no members. A process paused past `staleAfterMs` loses nothing but its groups' offsets, which its next commit writes
 * again (ephemeral subscriptions never read them back).
 */
export class EphemeralGroupSweep {
  readonly #options: EphemeralGroupSweepOptions;
  /** Group -> the process whose commits it holds: it never changes, so each group's offsets are read once. */
  readonly #owners = new Map<string, string>();
  /** When this process first saw each owner (or ownerless group): absence of a presence commit counts only after `staleAfterMs`. */
  readonly #firstSeen = new Map<string, number>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #presenceTimer: NodeJS.Timeout | undefined;
  #sweeping: Promise<SweepOutcome | undefined> | undefined;
  /** The last presence commit that landed (the start, before the first): how long others have had no news of this process. */
  #presenceRenewedAt = Date.now();
  #presenceWarnedAt = 0;
  #stopped = false;

  constructor(options: EphemeralGroupSweepOptions) {
    this.#options = options;
  }

  start(): void {
    if (this.#presenceTimer || this.#stopped) return;
    this.#presenceRenewedAt = Date.now();
    void this.#renewPresence();
    this.#presenceTimer = setInterval(() => void this.#renewPresence(), presenceRenewMs(this.#options.staleAfterMs));
    this.#presenceTimer.unref();
    this.#schedule();
  }

  /** Stops both timers, then deletes this process's presence group (its ephemeral groups are deleted as they end). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#sweepTimer);
    clearInterval(this.#presenceTimer);
    // Bounded: with Kafka down these sit in the client's retries, and shutdown must not wait for them. A check-in
    // group left behind goes stale and a live gateway's sweep removes it.
    await settledWithin(this.#sweeping, STOP_WAIT_MS);
    await settledWithin(this.#options.log.deleteGroups([this.#options.presenceGroup(this.#options.instanceId)]), STOP_WAIT_MS);
    await settledWithin(this.#options.inspector.close(), STOP_WAIT_MS);
  }

  /** One sweep now (tests; the schedule calls it too); a sweep in progress is shared. */
  sweep(): Promise<SweepOutcome | undefined> {
    this.#sweeping ??= this.#sweep()
      .catch((error: unknown) => {
        this.#options.logger.warn({ err: error }, 'could not sweep the ephemeral groups of stopped gateways; will retry');
        return undefined;
      })
      .finally(() => {
        this.#sweeping = undefined;
      });
    return this.#sweeping;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#sweepTimer = setTimeout(() => void this.sweep().finally(() => this.#schedule()), nextSweepDelay(this.#options.sweepMs));
    this.#sweepTimer.unref();
  }

  async #renewPresence(): Promise<void> {
    const { log, topic, instanceId, presenceGroup, logger } = this.#options;
    try {
      // Partition 0 exists in every topic; the offset means nothing, the metadata's time is the point.
      await log.commit(presenceGroup(instanceId), topic, new Map([[0, 0n]]), commitMetadata(instanceId, Date.now()));
      this.#presenceRenewedAt = Date.now();
    } catch (error) {
      // Quiet while the topic is being created at start-up or Kafka blinks; said once others may soon take this process for gone.
      const now = Date.now();
      if (now - this.#presenceRenewedAt < this.#options.staleAfterMs / 2 || now - this.#presenceWarnedAt < 60_000) return;
      this.#presenceWarnedAt = now;
      logger.warn(
        { err: error, lastRenewedMsAgo: now - this.#presenceRenewedAt },
        "could not renew this gateway's presence commit; other gateways may sweep its ephemeral groups (its subscriptions go on)",
      );
    }
  }

  async #sweep(): Promise<SweepOutcome> {
    const { log, inspector, logger, instanceId, isEphemeral, presenceGroup, presenceOwner, staleAfterMs } = this.#options;
    const { batchSize = 100, concurrency = 4 } = this.#options;
    const listed = await log.listGroups();
    const candidates: SweepCandidate[] = [];
    const unread: string[] = [];
    const seen = new Set<string>();
    for (const groupId of listed) {
      const presenceOf = presenceOwner(groupId);
      if (presenceOf !== undefined) {
        if (presenceOf !== instanceId) candidates.push({ groupId, owner: presenceOf });
      } else if (isEphemeral(groupId)) {
        seen.add(groupId);
        const owner = this.#owners.get(groupId);
        if (owner === undefined) unread.push(groupId);
        else if (owner !== instanceId) candidates.push({ groupId, owner });
      }
    }
    for (const groupId of this.#owners.keys()) if (!seen.has(groupId)) this.#owners.delete(groupId);
    let failure: unknown;
    const failed = (error: unknown) => {
      failure ??= error;
    };
    await eachLimited(
      unread,
      concurrency,
      async (groupId) => {
        const owner = committedBy(await inspector.committed(groupId));
        if (owner !== undefined) this.#owners.set(groupId, owner);
        if (owner !== instanceId) candidates.push({ groupId, owner });
      },
      failed,
    );
    const owners = [...new Set(candidates.flatMap(({ owner }) => (owner === undefined ? [] : [owner])))];
    const presenceAt = new Map<string, number | undefined>();
    const unknown = new Set<string>();
    await eachLimited(
      owners,
      concurrency,
      async (owner) => {
        try {
          presenceAt.set(owner, lastCommitAt(await inspector.committed(presenceGroup(owner))));
        } catch (error) {
          // Not known to be gone: its groups wait for a sweep that can tell.
          unknown.add(owner);
          throw error;
        }
      },
      failed,
    );
    const now = Date.now();
    const keys = new Set(candidates.map(firstSeenKey));
    for (const key of this.#firstSeen.keys()) if (!keys.has(key)) this.#firstSeen.delete(key);
    for (const key of keys) if (!this.#firstSeen.has(key)) this.#firstSeen.set(key, now);
    const known = candidates.filter(({ owner }) => owner === undefined || !unknown.has(owner));
    const abandoned = groupsToSweep(known, { self: instanceId, presenceAt, firstSeen: this.#firstSeen, now, staleAfterMs });
    const deletable: string[] = [];
    for (const batch of batches(abandoned, batchSize)) {
      const states = await inspector.states(batch);
      for (const groupId of batch) if (DELETABLE_STATES.has(states.get(groupId) ?? 'Dead')) deletable.push(groupId);
    }
    // Presence groups last: while one of a process's groups is left, its presence says who owned it.
    deletable.sort((a, b) => Number(presenceOwner(a) !== undefined) - Number(presenceOwner(b) !== undefined));
    let deleted = 0;
    for (const batch of batches(deletable, batchSize)) {
      const left = new Set(await log.deleteGroups(batch));
      for (const groupId of batch) {
        if (left.has(groupId)) continue;
        deleted++;
        this.#owners.delete(groupId);
      }
    }
    const outcome: SweepOutcome = { listed: candidates.length, abandoned: abandoned.length, deleted, kept: abandoned.length - deleted };
    logger.info(
      { ...outcome, ...(failure !== undefined && { err: failure }) },
      deleted > 0 ? 'deleted the ephemeral groups of stopped gateways' : 'swept ephemeral groups: none abandoned',
    );
    return outcome;
  }
}

/** How long stop() waits for each Kafka call before leaving it behind. */
const STOP_WAIT_MS = 1500;

/** Resolves when `work` settles (either way) or after `ms`, whichever comes first. */
async function settledWithin(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.catch(() => undefined),
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}
