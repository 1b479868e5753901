import type { CommittedOffset } from './log-client.js';

/** Metadata of every offset a gateway commits: an offset without it was written by someone else (an operator's tool). */
export const GATEWAY_COMMIT_TAG = 'graphql-kafka-gateway';

/** What a gateway's commit says about itself: the process that wrote it and, since issue 21, when. */
export interface CommitStamp {
  readonly instanceId: string;
  /** Epoch ms by the committing process's clock; undefined for commits of gateways older than the stamp. */
  readonly at: number | undefined;
}

const STAMP = new RegExp(`^${GATEWAY_COMMIT_TAG} (\\S+)(?: (\\d{1,16}))?`);

/**
 * `graphql-kafka-gateway <instanceId> <epochMs>`: Kafka keeps no commit time an admin client can read, so the time
 * travels in the commit's metadata, which OffsetFetch returns. It tells the ephemeral-group sweep whether a gateway
 * still lives, and the metrics when a durable group was last used.
 */
export const commitMetadata = (instanceId: string, at: number): string => `${GATEWAY_COMMIT_TAG} ${instanceId} ${Math.floor(at)}`;

/** The stamp of a gateway's commit; undefined for anyone else's (or none). */
export function parseCommitMetadata(metadata: string | null | undefined): CommitStamp | undefined {
  const match = metadata ? STAMP.exec(metadata) : null;
  if (!match?.[1]) return undefined;
  return { instanceId: match[1], at: match[2] === undefined ? undefined : Number(match[2]) };
}

/** The newest stamped time among a group's committed partitions; undefined when none carries one. */
export function lastCommitAt(committed: Iterable<Pick<CommittedOffset, 'metadata'>>): number | undefined {
  let latest: number | undefined;
  for (const { metadata } of committed) {
    const at = parseCommitMetadata(metadata)?.at;
    if (at !== undefined && (latest === undefined || at > latest)) latest = at;
  }
  return latest;
}

/** The gateway process that wrote a group's commits (the first stamped partition's); undefined when no gateway did. */
export function committedBy(committed: Iterable<Pick<CommittedOffset, 'metadata'>>): string | undefined {
  for (const { metadata } of committed) {
    const stamp = parseCommitMetadata(metadata);
    if (stamp) return stamp.instanceId;
  }
  return undefined;
}
