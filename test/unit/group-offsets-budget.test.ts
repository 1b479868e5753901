import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type GroupMember, GroupOffsets } from '../../src/streaming/group-offsets.js';
import type { LogClient } from '../../src/streaming/log-client.js';

const INTERVAL_MS = 100;

/** A connection of a group: its positions are what it has received; the test moves them. */
class Connection implements GroupMember {
  readonly positions = new Map<number, bigint>([[0, 0n]]);
  committable(): ReadonlyMap<number, bigint> {
    return this.positions;
  }
  reposition(): void {}
}

/** Records every commit, with the lowest position of the group's connections at the moment it was sent. */
function recordingLog(connectionsOf: (groupId: string) => Connection[]) {
  const commits: { groupId: string; offset: bigint; lowestReceived: bigint }[] = [];
  // What each group holds, as Kafka would answer it (with the gateway's metadata: no operator moved it).
  const held = new Map<string, { offset: bigint; metadata: string }>();
  const unused = () => Promise.reject(new Error('not used by GroupOffsets here'));
  const log: LogClient = {
    topicExists: unused,
    partitions: unused,
    watermarks: unused,
    offsetsAt: unused,
    tail: unused,
    endTail: unused,
    read: unused,
    listGroups: unused,
    close: async () => {},
    deleteGroups: async () => [],
    committed: async (groupId) => {
      const known = held.get(groupId);
      return new Map(known ? [[0, known]] : []);
    },
    async commit(groupId, _topic, offsets, metadata) {
      held.set(groupId, { offset: offsets.get(0) ?? -1n, metadata });
      // Bigints: Math.min does not take them.
      const [lowestReceived = 0n] = connectionsOf(groupId)
        .map((c) => c.positions.get(0) ?? 0n)
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      commits.push({ groupId, offset: offsets.get(0) ?? -1n, lowestReceived });
    },
  };
  return { log, commits };
}

describe('GroupOffsets with a commit budget', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('should send at most its share each interval, oldest moves first, until every group has its offsets committed', async () => {
    const groups = Array.from({ length: 10 }, (_, i) => ({ id: `gql.team.g${i}`, connection: new Connection() }));
    const { log, commits } = recordingLog((id) => groups.filter((g) => g.id === id).map((g) => g.connection));
    // 30 a second at 100 ms: 3 commits an interval.
    const offsets = new GroupOffsets({
      log,
      logger: pino({ level: 'silent' }),
      instanceId: 'i',
      commitIntervalMs: INTERVAL_MS,
      refreshMs: 3_600_000,
      commitsPerSecond: 30,
    });
    for (const { id, connection } of groups) await offsets.join(id, 'orders', 'durable', connection, new Map([[0, 0n]]));
    const joined = commits.length;
    offsets.start();
    for (const { connection } of groups) connection.positions.set(0, 5n);
    const perInterval: number[] = [];
    for (let tick = 0; tick < 4; tick++) {
      const before = commits.length;
      await vi.advanceTimersByTimeAsync(INTERVAL_MS);
      perInterval.push(commits.length - before);
    }
    expect(perInterval).toEqual([3, 3, 3, 1]);
    const moved = commits.slice(joined);
    expect(new Set(moved.map((c) => c.groupId)).size).toBe(10);
    expect(moved.every((c) => c.offset === 5n)).toBe(true);
    await offsets.close();
  });

  it('should never commit past what one of a group’s connections has received, however long a commit waited for its turn', async () => {
    const fast = new Connection();
    const slow = new Connection();
    const others = Array.from({ length: 6 }, () => new Connection());
    const members = new Map<string, Connection[]>([
      ['gql.team.shared', [fast, slow]],
      ...others.map((c, i): [string, Connection[]] => [`gql.team.o${i}`, [c]]),
    ]);
    const { log, commits } = recordingLog((id) => members.get(id) ?? []);
    const offsets = new GroupOffsets({
      log,
      logger: pino({ level: 'silent' }),
      instanceId: 'i',
      commitIntervalMs: INTERVAL_MS,
      refreshMs: 3_600_000,
      commitsPerSecond: 10,
    });
    for (const [id, connections] of members)
      for (const c of connections) await offsets.join(id, 'orders', 'durable', c, new Map([[0, 0n]]));
    offsets.start();
    for (let round = 1n; round <= 12n; round++) {
      for (const c of [fast, ...others]) c.positions.set(0, round * 3n);
      slow.positions.set(0, round);
      await vi.advanceTimersByTimeAsync(INTERVAL_MS);
    }
    const shared = commits.filter((c) => c.groupId === 'gql.team.shared' && c.offset > 0n);
    expect(shared.length).toBeGreaterThan(0);
    for (const commit of commits) expect(commit.offset).toBeLessThanOrEqual(commit.lowestReceived);
    await offsets.close();
  });
});
