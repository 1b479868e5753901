import { describe, expect, it } from 'vitest';
import { commitMetadata, committedBy, lastCommitAt, parseCommitMetadata } from '../../src/streaming/commit-metadata.js';
import {
  batches,
  firstSeenKey,
  groupsToSweep,
  nextSweepDelay,
  presenceRenewMs,
  type SweepCandidate,
  type SweepView,
} from '../../src/streaming/ephemeral-sweep-rules.js';

const STALE = 180_000;
const NOW = 1_000_000_000;

const view = (overrides: Partial<SweepView> = {}): SweepView => ({
  self: 'me',
  presenceAt: new Map(),
  firstSeen: new Map(),
  now: NOW,
  staleAfterMs: STALE,
  ...overrides,
});

describe('commit metadata', () => {
  it('should stamp a commit with its process and time, and read both back', () => {
    const metadata = commitMetadata('a1b2', 1234.9);
    expect(metadata).toBe('graphql-kafka-gateway a1b2 1234');
    expect(parseCommitMetadata(metadata)).toEqual({ instanceId: 'a1b2', at: 1234 });
  });

  it("should read an older gateway's stamp without a time, and nothing from anyone else's metadata", () => {
    expect(parseCommitMetadata('graphql-kafka-gateway a1b2')).toEqual({ instanceId: 'a1b2', at: undefined });
    expect(parseCommitMetadata('kafka-consumer-groups reset')).toBeUndefined();
    expect(parseCommitMetadata('')).toBeUndefined();
    expect(parseCommitMetadata(null)).toBeUndefined();
  });

  it("should take a group's newest stamped time, and its first stamped owner", () => {
    const partitions = [{ metadata: null }, { metadata: commitMetadata('x', 50) }, { metadata: commitMetadata('x', 70) }];
    expect(lastCommitAt(partitions)).toBe(70);
    expect(committedBy(partitions)).toBe('x');
    expect(lastCommitAt([{ metadata: 'operator' }])).toBeUndefined();
    expect(committedBy([])).toBeUndefined();
  });
});

describe('which ephemeral groups a sweep deletes', () => {
  const group = (groupId: string, owner: string | undefined): SweepCandidate => ({ groupId, owner });

  it('should sweep the groups of a process whose presence commit is older than the stale time, and only those', () => {
    const candidates = [group('g.dead', 'dead'), group('g.live', 'live'), group('g.edge', 'edge')];
    const presenceAt = new Map([
      ['dead', NOW - STALE - 1],
      ['live', NOW - 1000],
      ['edge', NOW - STALE],
    ]);
    expect(groupsToSweep(candidates, view({ presenceAt }))).toEqual(['g.dead']);
  });

  it("should never sweep this process's own groups, whatever its presence says", () => {
    const presenceAt = new Map([['me', NOW - 10 * STALE]]);
    const firstSeen = new Map([[firstSeenKey(group('g.mine', 'me')), NOW - 10 * STALE]]);
    expect(groupsToSweep([group('g.mine', 'me')], view({ presenceAt, firstSeen }))).toEqual([]);
  });

  it('should take an owner without a presence commit for gone only once this sweeper has known it for the stale time', () => {
    const fresh = group('g.fresh', 'starting');
    const old = group('g.old', 'killed');
    const firstSeen = new Map([
      [firstSeenKey(fresh), NOW - STALE + 1],
      [firstSeenKey(old), NOW - STALE],
    ]);
    expect(groupsToSweep([fresh, old], view({ firstSeen, presenceAt: new Map([['starting', undefined]]) }))).toEqual(['g.old']);
    // Never seen before this sweep: not swept on first sight.
    expect(groupsToSweep([group('g.new', 'unseen')], view())).toEqual([]);
  });

  it('should sweep a group no gateway committed once it has been seen for the stale time, each group on its own clock', () => {
    const [a, b] = [group('g.a', undefined), group('g.b', undefined)];
    const firstSeen = new Map([
      [firstSeenKey(a), NOW - STALE],
      [firstSeenKey(b), NOW - 1],
    ]);
    expect(firstSeenKey(a)).not.toBe(firstSeenKey(b));
    expect(groupsToSweep([a, b], view({ firstSeen }))).toEqual(['g.a']);
  });

  it('should let a presence commit from a clock ahead count as live', () => {
    expect(groupsToSweep([group('g', 'ahead')], view({ presenceAt: new Map([['ahead', NOW + 60_000]]) }))).toEqual([]);
  });
});

describe('sweep schedule', () => {
  it('should wait 50-150% of the mean, and renew presence six times within the stale time', () => {
    expect(nextSweepDelay(300_000, () => 0)).toBe(150_000);
    expect(nextSweepDelay(300_000, () => 0.999999)).toBe(450_000);
    expect(presenceRenewMs(180_000)).toBe(30_000);
    expect(presenceRenewMs(300)).toBe(100);
  });

  it('should split deletions into bounded batches', () => {
    expect(batches([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(batches([], 100)).toEqual([]);
  });
});
