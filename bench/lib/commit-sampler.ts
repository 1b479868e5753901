import type { Admin } from 'kafkajs';
import { lastCommitAt } from '../../src/streaming/commit-metadata.js';

/** Kafka's internal topic of committed offsets: every partition of every OffsetCommit appends one record to it. */
const OFFSETS_TOPIC = '__consumer_offsets';

/** The sum of the high watermarks of __consumer_offsets: its growth over a window is the partitions committed in it. */
export async function offsetsTopicEnd(admin: Admin): Promise<number> {
  const partitions = await admin.fetchTopicOffsets(OFFSETS_TOPIC);
  return partitions.reduce((sum, p) => sum + Number(p.high), 0);
}

interface GroupState {
  /** The stamp (commitMetadata's epoch ms) of the group's last commit seen; undefined before one. */
  stamp: number | undefined;
  /** For groups without stamps (anyone but the gateway): the offsets last seen, and when they were first seen changed. */
  offsets: string | undefined;
  changedAt: number | undefined;
  /** When the group was last sampled. */
  sampledAt: number | undefined;
}

export interface CommitSamples {
  /**
   * Commits seen: a sampled group's stamp changed between two samples (two commits between samples count once). A
   * group without stamps: its offsets changed.
   */
  commits: number;
  /** Group-samples taken, and of them how many had no commit (or, without stamps, no change seen) yet. */
  samples: number;
  uncommitted: number;
  /** Per group-sample, sample time minus its last commit's stamp (without stamps: the sample that saw the change), in ms. */
  ages: number[];
  /** Partitions in a sampled group's commit (each appends one record to __consumer_offsets). */
  partitionsPerCommit: number;
}

/**
 * Samples the committed offsets of `groupIds` on `topic` (OffsetFetch through the admin client): each sample notes
 * per group the age of its last commit, read from the time the gateway stamps into every commit's metadata
 * (commit-metadata.ts), and whether it committed since the previous sample.
 */
export function commitSampler(admin: Admin, topic: string, groupIds: readonly string[]) {
  const groups = new Map<string, GroupState>(
    groupIds.map((id) => [id, { stamp: undefined, offsets: undefined, changedAt: undefined, sampledAt: undefined }]),
  );
  let result: CommitSamples = { commits: 0, samples: 0, uncommitted: 0, ages: [], partitionsPerCommit: 0 };

  const sampleOne = async (groupId: string, state: GroupState) => {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const partitions = (committed?.partitions ?? []).filter((p) => Number(p.offset) >= 0);
    const now = Date.now();
    const stamp = lastCommitAt(partitions);
    result.samples++;
    if (stamp === undefined) {
      unstamped(state, partitions, now);
      return;
    }
    if (state.stamp !== undefined && stamp !== state.stamp) result.commits++;
    state.stamp = stamp;
    result.ages.push(Math.max(0, now - stamp));
    result.partitionsPerCommit = Math.max(result.partitionsPerCommit, partitions.length);
  };

  /**
   * A commit = the offsets changed since the last sample; its time is taken as that earlier sample's, so the age is an
   * upper bound (off by at most the time between samples).
   */
  const unstamped = (state: GroupState, partitions: readonly { partition: number; offset: string }[], now: number) => {
    const offsets = partitions.map((p) => `${p.partition}:${p.offset}`).join(',');
    if (offsets !== '' && state.offsets !== undefined && offsets !== state.offsets) {
      result.commits++;
      state.changedAt = state.sampledAt;
    }
    state.offsets = offsets;
    state.sampledAt = now;
    if (state.changedAt === undefined) result.uncommitted++;
    else result.ages.push(now - state.changedAt);
  };

  return {
    /** One sample of every group, in parallel. */
    async sample(): Promise<void> {
      await Promise.all([...groups].map(([id, state]) => sampleOne(id, state)));
    },
    /** Forgets the counts, keeping each group's last stamp: the next window counts commits from here. */
    reset(): void {
      result = { commits: 0, samples: 0, uncommitted: 0, ages: [], partitionsPerCommit: result.partitionsPerCommit };
    },
    results: (): CommitSamples => result,
  };
}
