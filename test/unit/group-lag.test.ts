import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { GroupLag, type GroupLagView, lagOf } from '../../src/streaming/group-lag.js';
import type { HeldGroup } from '../../src/streaming/group-offsets.js';
import type { CommittedOffset, LogClient } from '../../src/streaming/log-client.js';

const offsets = (...values: number[]) => new Map(values.map((offset, partition) => [partition, BigInt(offset)]));

/** A log of one topic: its end offsets and each group's committed offsets, as a test sets them. */
function fakeLog(ends: Map<number, bigint>, committed: Map<string, Map<number, bigint>>) {
  const calls = { committed: 0, watermarks: 0 };
  const unused = () => Promise.reject(new Error('not used by GroupLag'));
  const log: LogClient = {
    topicExists: unused,
    partitions: unused,
    offsetsAt: unused,
    tail: unused,
    endTail: unused,
    read: unused,
    commit: unused,
    deleteGroups: unused,
    close: async () => {},
    async watermarks() {
      calls.watermarks++;
      return new Map([...ends].map(([partition, high]) => [partition, { low: 0n, high }]));
    },
    async listGroups() {
      return [...committed.keys()];
    },
    async committed(groupId) {
      calls.committed++;
      const held = committed.get(groupId) ?? new Map();
      return new Map<number, CommittedOffset>([...held].map(([partition, offset]) => [partition, { offset, metadata: null }]));
    },
  };
  return { log, calls };
}

/** The engine's view of one topic, `orders`, unless a test names its topics. */
function groupLag(log: LogClient, view: Omit<GroupLagView, 'topics'> & Partial<Pick<GroupLagView, 'topics'>>, maxUnheld?: number) {
  return new GroupLag(
    {
      log,
      logger: pino({ level: 'silent' }),
      isTracked: (groupId) => groupId.startsWith('gql.') && !groupId.startsWith('gql.ephemeral.'),
      refreshMs: 60_000,
      ...(maxUnheld !== undefined && { maxUnheld }),
    },
    { topics: () => ['orders'], ...view },
  );
}

const byId = (entries: { groupId: string }[]) => [...entries].sort((a, b) => a.groupId.localeCompare(b.groupId));

describe('GroupLag', () => {
  it('should count the records from committed offsets to the end, over the partitions committed', () => {
    expect(lagOf(offsets(3, 10), offsets(5, 10, 7))).toBe(2);
    expect(lagOf(offsets(6), offsets(5))).toBe(0);
    expect(lagOf(undefined, offsets(5))).toBe(0);
  });

  it('should measure the durable groups held here from their last commit at every read, without asking Kafka', () => {
    const ends = offsets(10, 20);
    const { log, calls } = fakeLog(ends, new Map());
    const held: HeldGroup[] = [
      { id: 'gql.recon.main', topic: 'orders', kind: 'durable', committed: offsets(4, 20) },
      { id: 'gql.ephemeral.1', topic: 'orders', kind: 'ephemeral', committed: offsets(0, 0) },
      { id: 'other.recon.main', topic: 'orders', kind: 'durable', committed: offsets(0, 0) },
    ];
    const lag = groupLag(log, { held: () => held, ends: () => ends });
    expect(lag.snapshot()).toEqual([{ groupId: 'gql.recon.main', topic: 'orders', lag: 6, connected: true }]);
    ends.set(0, 15n);
    expect(lag.snapshot()).toEqual([{ groupId: 'gql.recon.main', topic: 'orders', lag: 11, connected: true }]);
    expect(calls).toEqual({ committed: 0, watermarks: 0 });
  });

  it('should carry a released group over at once, and follow it at each refresh until Kafka no longer has it', async () => {
    const ends = offsets(10, 10);
    const committed = new Map([['gql.recon.main', offsets(8, 10)]]);
    const { log } = fakeLog(ends, committed);
    const lag = groupLag(log, { held: () => [], ends: () => ends });
    lag.released('gql.recon.main', 'orders', offsets(8, 10));
    expect(lag.snapshot()).toEqual([{ groupId: 'gql.recon.main', topic: 'orders', lag: 2, connected: false }]);
    // Orders arrive while nobody reads: the lag is the one at the last refresh.
    ends.set(1, 15n);
    expect(lag.snapshot()[0]?.lag).toBe(2);
    await lag.refresh();
    expect(lag.snapshot()[0]?.lag).toBe(7);
    committed.delete('gql.recon.main');
    await lag.refresh();
    expect(lag.snapshot()).toEqual([]);
  });

  it('should find the durable groups nobody holds (after a restart), from the watermarks before any subscription', async () => {
    const ends = offsets(10, 10);
    const committed = new Map([
      ['gql.recon.main', offsets(10, 4)],
      ['gql.audit.main', offsets(0, 0)],
      ['gql.ephemeral.2', offsets(0, 0)],
      ['someone-else', offsets(0, 0)],
    ]);
    const { log, calls } = fakeLog(ends, committed);
    const held: HeldGroup[] = [];
    let tail: Map<number, bigint> | undefined;
    const lag = groupLag(log, { held: () => held, ends: () => tail });
    await lag.refresh();
    expect(calls.watermarks).toBe(1);
    expect(byId(lag.snapshot())).toEqual([
      { groupId: 'gql.audit.main', topic: 'orders', lag: 20, connected: false },
      { groupId: 'gql.recon.main', topic: 'orders', lag: 6, connected: false },
    ]);
    // A subscriber reconnected here (the live read started with it): the group is measured as held, and no longer fetched.
    tail = ends;
    held.push({ id: 'gql.audit.main', topic: 'orders', kind: 'durable', committed: offsets(10, 10) });
    expect(byId(lag.snapshot())).toEqual([
      { groupId: 'gql.audit.main', topic: 'orders', lag: 0, connected: true },
      { groupId: 'gql.recon.main', topic: 'orders', lag: 6, connected: false },
    ]);
    calls.committed = 0;
    await lag.refresh();
    expect(calls.committed).toBe(1);
  });

  it('should follow at most maxUnheld groups not held here, those it already followed first', async () => {
    const ends = offsets(10);
    const committed = new Map([
      ['gql.a.main', offsets(1)],
      ['gql.b.main', offsets(2)],
      ['gql.c.main', offsets(3)],
    ]);
    const { log, calls } = fakeLog(ends, committed);
    const lag = groupLag(log, { held: () => [], ends: () => ends }, 2);
    lag.released('gql.c.main', 'orders', offsets(3));
    await lag.refresh();
    expect(calls.committed).toBe(2);
    expect(byId(lag.snapshot()).map((entry) => entry.groupId)).toEqual(['gql.a.main', 'gql.c.main']);
  });

  it('should keep the figure of a group whose offsets could not be read, and go on with the others', async () => {
    const ends = offsets(10);
    const committed = new Map([
      ['gql.a.main', offsets(4)],
      ['gql.b.main', offsets(6)],
    ]);
    const { log } = fakeLog(ends, committed);
    const lag = groupLag(
      {
        ...log,
        committed: (groupId, topic) =>
          groupId === 'gql.a.main' ? Promise.reject(new Error('coordinator moved')) : log.committed(groupId, topic),
      },
      {
        held: () => [],
        ends: () => ends,
      },
    );
    lag.released('gql.a.main', 'orders', offsets(4));
    ends.set(0, 12n);
    await lag.refresh();
    expect(byId(lag.snapshot())).toEqual([
      { groupId: 'gql.a.main', topic: 'orders', lag: 6, connected: false },
      { groupId: 'gql.b.main', topic: 'orders', lag: 6, connected: false },
    ]);
  });

  it('should report a group following two topics once per topic, held on one and fetched on the other', async () => {
    const ends = { orders: offsets(10, 10), topups: offsets(7) };
    const committed: Record<string, Map<number, bigint>> = { orders: offsets(10, 10), topups: offsets(3) };
    const { log } = fakeLog(offsets(0), new Map([['gql.notify.main', offsets(0)]]));
    const lag = groupLag(
      {
        ...log,
        watermarks: async (topic) => new Map([...(ends[topic as keyof typeof ends] ?? [])].map(([p, high]) => [p, { low: 0n, high }])),
        committed: async (_groupId, topic) => new Map([...(committed[topic] ?? [])].map(([p, offset]) => [p, { offset, metadata: null }])),
      },
      {
        held: () => [{ id: 'gql.notify.main', topic: 'orders', kind: 'durable', committed: offsets(8, 10) }],
        ends: (topic) => (topic === 'orders' ? ends.orders : undefined),
        topics: () => ['orders', 'topups'],
      },
    );
    await lag.refresh();
    const byTopic = [...lag.snapshot()].sort((a, b) => a.topic.localeCompare(b.topic));
    expect(byTopic).toEqual([
      { groupId: 'gql.notify.main', topic: 'orders', lag: 2, connected: true },
      { groupId: 'gql.notify.main', topic: 'topups', lag: 4, connected: false },
    ]);
  });
});
