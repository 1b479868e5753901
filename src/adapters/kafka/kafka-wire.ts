import { createRequire } from 'node:module';
import type { Admin, Kafka } from 'kafkajs';
import {
  type CommittedOffset,
  type FetchedPartition,
  type LogClient,
  type LogRecord,
  OffsetOutOfRangeError,
  type Watermarks,
} from '../../streaming/log-client.js';

/**
 * The one module that reaches into kafkajs's internals (pinned to exactly 2.2.4, which has had no release since
 * 2023, so these will not move). kafkajs's public API can neither fetch without joining a group nor commit offsets
 * for a group it is not a member of; its broker layer sends Fetch and OffsetCommit (generation -1, no member id)
 * directly, and ListOffsets and OffsetFetch on a connection of their own. Group deletion goes through the public
 * admin client.
 */

interface KafkaMessage {
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

interface BatchInstance {
  readonly partition: number;
  readonly highWatermark: string;
  readonly messages: KafkaMessage[];
  isEmptyIncludingFiltered(): boolean;
  lastOffset(): string;
}

interface FetchPartitionData {
  readonly partition: number;
  readonly highWatermark: string;
  readonly messages: KafkaMessage[];
}

interface InternalBroker {
  readonly nodeId: number;
  fetch(request: {
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    isolationLevel: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: FetchPartitionData[] }[] }>;
  offsetCommit(request: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    topics: { topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[];
  }): Promise<{ responses: { partitions: { partition: number; errorCode: number }[] }[] }>;
}

interface InternalBrokerLookups {
  offsetFetch(request: {
    groupId: string;
    topics: { topic: string; partitions: { partition: number }[] }[];
  }): Promise<{ responses: { topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[] }>;
}

type ListOffsetsQuery = { fromBeginning: boolean } | { fromTimestamp: number };

interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<InternalBroker>;
  findGroupCoordinator(query: { groupId: string }): Promise<InternalBroker & InternalBrokerLookups>;
  fetchTopicsOffset(
    topics: ({ topic: string; partitions: { partition: number }[] } & ListOffsetsQuery)[],
  ): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

type BatchConstructor = new (topic: string, fetchedOffset: string, data: FetchPartitionData) => BatchInstance;

const require = createRequire(import.meta.url);
const Batch = require('kafkajs/src/consumer/batch.js') as BatchConstructor;
const READ_COMMITTED = 1;
const GROUP_ID_NOT_FOUND = 69;

/** Kafka's error codes the engine reacts to (a fetch's partition errors arrive as thrown kafkajs errors). */
const RETRIABLE_METADATA_ERRORS = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'NOT_COORDINATOR',
  'COORDINATOR_NOT_AVAILABLE',
]);

/** A cluster built by the Kafka client's own factory: same brokers, TLS, SASL, retries and logging. */
function createCluster(kafka: Kafka): InternalCluster {
  const factory = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
  const create: unknown = factory === undefined ? undefined : Reflect.get(kafka, factory);
  if (typeof create !== 'function') throw new Error('kafkajs internals changed: pin kafkajs to 2.2.4');
  return create.call(kafka, { allowAutoTopicCreation: false, metadataMaxAge: 60_000 }) as InternalCluster;
}

function errorType(error: unknown): string | undefined {
  const type: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'type') : undefined;
  return typeof type === 'string' ? type : undefined;
}

function toRecord(partition: number, message: KafkaMessage): LogRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (value !== undefined) headers[name] = String(Array.isArray(value) ? value[0] : value);
  }
  return {
    partition,
    offset: BigInt(message.offset),
    timestamp: Number(message.timestamp),
    key: message.key,
    value: message.value,
    headers,
  };
}

/** Group coordinators remembered per group; forgotten on any failure of a request sent to one. */
const COORDINATORS_REMEMBERED = 20_000;

/**
 * A `LogClient` on kafkajs: three clusters, so that no request waits behind another kind on one connection (Kafka
 * answers a connection's requests one at a time): the shared reader's long-polling Fetch; catch-up reads and offset
 * commits; and the lookups a subscription's start needs (ListOffsets, OffsetFetch). One admin client deletes groups.
 * A handful of broker connections in all.
 */
export function createKafkaWire(kafka: Kafka): LogClient {
  /**
   * A cluster per topic read live: Kafka answers a connection's requests one at a time, so on one connection a quiet
   * topic's long poll held every fetch of a busy one for up to its wait (p50 108 ms against 6 ms with two topics).
   */
  const tailClusters = new Map<string, Promise<InternalCluster>>();
  const sideCluster = createCluster(kafka);
  const lookupCluster = createCluster(kafka);
  /**
   * Per cluster, group id -> its coordinator's node id: a FindCoordinator per group, not per commit. Per cluster, as
   * a node id found on one cluster may be unknown to another's metadata (a fresh process's first commit after a
   * COMMITTED lookup failed so, and its group had no offsets until the next interval).
   */
  const coordinators = new Map<InternalCluster, Map<string, number>>();
  let admin: Promise<Admin> | undefined;
  /** The admin client once connected: close() waits for a disconnect only then. */
  let adminConnected: Admin | undefined;
  let connected: Promise<void> | undefined;
  /** True once the clusters connected: close() waits for their disconnect only then (see close). */
  let clustersConnected = false;
  let closed = false;

  const ready = (): Promise<void> => {
    if (closed) return Promise.reject(new Error('the Kafka log client is closed'));
    connected ??= Promise.all([sideCluster.connect(), lookupCluster.connect()]).then(
      () => {
        clustersConnected = true;
      },
      (error: unknown) => {
        connected = undefined;
        throw error;
      },
    );
    return connected;
  };
  const adminClient = (): Promise<Admin> => {
    if (closed) return Promise.reject(new Error('the Kafka log client is closed'));
    admin ??= (async () => {
      const client = kafka.admin();
      await client.connect();
      adminConnected = client;
      return client;
    })().catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    return admin;
  };

  const tailClusterOf = (topic: string): Promise<InternalCluster> => {
    let cluster = tailClusters.get(topic);
    if (!cluster) {
      const created = createCluster(kafka);
      cluster = created.connect().then(
        () => created,
        (error: unknown) => {
          tailClusters.delete(topic);
          throw error;
        },
      );
      tailClusters.set(topic, cluster);
    }
    return cluster;
  };
  const disconnectTails = (topics: Iterable<string>) =>
    Promise.all(
      [...topics].map((topic) => {
        const cluster = tailClusters.get(topic);
        tailClusters.delete(topic);
        return cluster?.then((connected) => connected.disconnect()).catch(() => undefined);
      }),
    ).then(() => undefined);

  async function fetchFrom(
    cluster: InternalCluster,
    topic: string,
    offsets: ReadonlyMap<number, bigint>,
    maxWaitMs: number,
    maxBytesPerPartition: number,
  ): Promise<FetchedPartition[]> {
    await ready();
    await cluster.addTargetTopic(topic);
    const partitions = [...offsets.keys()];
    let leaders: Record<string, number[]>;
    try {
      leaders = cluster.findLeaderForPartitions(topic, partitions);
    } catch (error) {
      await cluster.refreshMetadata();
      throw error;
    }
    const perLeader = Object.entries(leaders).map(async ([nodeId, led]) => {
      const broker = await cluster.findBroker({ nodeId });
      const requested = led.map((partition) => ({
        partition,
        fetchOffset: String(offsets.get(partition) ?? 0n),
        maxBytes: maxBytesPerPartition,
      }));
      try {
        const { responses } = await broker.fetch({
          maxWaitTime: maxWaitMs,
          minBytes: 1,
          maxBytes: maxBytesPerPartition * requested.length,
          isolationLevel: READ_COMMITTED,
          topics: [{ topic, partitions: requested }],
        });
        return responses.flatMap(({ partitions: data }) =>
          data.map((partitionData): FetchedPartition => {
            const fetchedOffset = String(offsets.get(partitionData.partition) ?? 0n);
            const batch = new Batch(topic, fetchedOffset, partitionData);
            const next = batch.isEmptyIncludingFiltered() ? BigInt(fetchedOffset) : BigInt(batch.lastOffset()) + 1n;
            return {
              partition: partitionData.partition,
              records: batch.messages.map((m) => toRecord(partitionData.partition, m)),
              next,
              highWatermark: BigInt(batch.highWatermark),
            };
          }),
        );
      } catch (error) {
        if (errorType(error) === 'OFFSET_OUT_OF_RANGE') throw new OffsetOutOfRangeError({ cause: error });
        if (RETRIABLE_METADATA_ERRORS.has(errorType(error) ?? '')) await cluster.refreshMetadata().catch(() => {});
        throw error;
      }
    });
    return (await Promise.all(perLeader)).flat();
  }

  /** The group's coordinator on `cluster`, found once per group; `use` failing forgets it (it may have moved). */
  async function withCoordinator<R>(
    cluster: InternalCluster,
    groupId: string,
    use: (broker: InternalBroker & InternalBrokerLookups) => Promise<R>,
  ) {
    await ready();
    let known = coordinators.get(cluster);
    if (!known) {
      known = new Map();
      coordinators.set(cluster, known);
    }
    const nodeId = known.get(groupId);
    // A remembered node that left this cluster's metadata: found again, as on first use (which refreshes it).
    const remembered =
      nodeId === undefined
        ? undefined
        : await (cluster.findBroker({ nodeId: String(nodeId) }) as Promise<InternalBroker & InternalBrokerLookups>).catch(() => undefined);
    let broker: InternalBroker & InternalBrokerLookups;
    if (remembered) broker = remembered;
    else {
      broker = await cluster.findGroupCoordinator({ groupId });
      if (known.size >= COORDINATORS_REMEMBERED) known.clear();
      known.set(groupId, broker.nodeId);
    }
    try {
      return await use(broker);
    } catch (error) {
      known.delete(groupId);
      throw error;
    }
  }

  /** One ListOffsets per partition leader, on the lookup connection. */
  async function listOffsets(topic: string, query: ListOffsetsQuery): Promise<Map<number, bigint>> {
    await ready();
    await lookupCluster.addTargetTopic(topic);
    await lookupCluster.refreshMetadataIfNecessary();
    const partitions = lookupCluster.findTopicPartitionMetadata(topic).map(({ partitionId }) => ({ partition: partitionId }));
    if (partitions.length === 0) {
      // Not in the metadata yet (just created): without a refresh the next try would wait out metadataMaxAge.
      await lookupCluster.refreshMetadata().catch(() => {});
      throw new Error(`topic ${topic} has no partitions`);
    }
    try {
      const [answer] = await lookupCluster.fetchTopicsOffset([{ topic, partitions, ...query }]);
      return new Map((answer?.partitions ?? []).map(({ partition, offset }) => [partition, BigInt(offset)]));
    } catch (error) {
      if (RETRIABLE_METADATA_ERRORS.has(errorType(error) ?? '') || errorType(error) === undefined) {
        await lookupCluster.refreshMetadata().catch(() => {});
      }
      throw error;
    }
  }

  return {
    async topicExists(topic) {
      return (await (await adminClient()).listTopics()).includes(topic);
    },

    async partitions(topic) {
      const watermarks = await this.watermarks(topic);
      return [...watermarks.keys()].sort((a, b) => a - b);
    },

    async watermarks(topic) {
      // Both requests at once: the second does not wait for the first's answer.
      const [high, low] = await Promise.all([listOffsets(topic, { fromBeginning: false }), listOffsets(topic, { fromBeginning: true })]);
      const marks = new Map<number, Watermarks>();
      for (const [partition, offset] of high) marks.set(partition, { low: low.get(partition) ?? 0n, high: offset });
      return marks;
    },

    async offsetsAt(topic, at) {
      // Kafka answers -1 for a partition with nothing at or after the instant: left out, the caller starts at its end.
      const offsets = await listOffsets(topic, { fromTimestamp: at.getTime() });
      return new Map([...offsets].filter(([, offset]) => offset >= 0n));
    },

    tail: async (topic, offsets, maxWaitMs, maxBytesPerPartition) =>
      fetchFrom(await tailClusterOf(topic), topic, offsets, maxWaitMs, maxBytesPerPartition),

    endTail: (topic) => disconnectTails([topic]),

    read: (topic, offsets, maxBytesPerPartition) => fetchFrom(sideCluster, topic, offsets, 0, maxBytesPerPartition),

    async committed(groupId, topic) {
      await ready();
      await lookupCluster.addTargetTopic(topic);
      await lookupCluster.refreshMetadataIfNecessary();
      const partitions = lookupCluster.findTopicPartitionMetadata(topic).map(({ partitionId }) => ({ partition: partitionId }));
      const { responses } = await withCoordinator(lookupCluster, groupId, (coordinator) =>
        coordinator.offsetFetch({ groupId, topics: [{ topic, partitions }] }),
      );
      const result = new Map<number, CommittedOffset>();
      for (const p of responses.find((r) => r.topic === topic)?.partitions ?? []) {
        const offset = BigInt(p.offset);
        if (offset >= 0n) result.set(p.partition, { offset, metadata: p.metadata ?? null });
      }
      return result;
    },

    async commit(groupId, topic, offsets, metadata) {
      await withCoordinator(sideCluster, groupId, async (coordinator) => {
        const { responses } = await coordinator.offsetCommit({
          groupId,
          // Not a member: Kafka takes the commit as a standalone one while the group has no members.
          groupGenerationId: -1,
          memberId: '',
          topics: [{ topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: String(offset), metadata })) }],
        });
        const failed = responses.flatMap((r) => r.partitions).find((p) => p.errorCode !== 0);
        if (failed) throw new Error(`offset commit for ${groupId} failed with Kafka error code ${failed.errorCode}`);
      });
    },

    async listGroups() {
      const { groups } = await (await adminClient()).listGroups();
      return groups.map((g) => g.groupId);
    },

    async deleteGroups(groupIds) {
      if (groupIds.length === 0) return [];
      for (const known of coordinators.values()) for (const groupId of groupIds) known.delete(groupId);
      try {
        await (await adminClient()).deleteGroups([...groupIds]);
        return [];
      } catch (error) {
        const groups: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'groups') : undefined;
        if (!Array.isArray(groups)) throw error;
        // A group that never committed does not exist: nothing to delete.
        return groups.flatMap((g: { groupId?: unknown; errorCode?: unknown }) =>
          typeof g.groupId === 'string' && g.errorCode !== 0 && g.errorCode !== GROUP_ID_NOT_FOUND ? [g.groupId] : [],
        );
      }
    },

    async close() {
      closed = true;
      const disconnectClusters = () => Promise.all([sideCluster.disconnect(), lookupCluster.disconnect()]).then(() => undefined);
      const tails = disconnectTails([...tailClusters.keys()]);
      // Clients still connecting (Kafka down) would hold close() for their whole retry budget, 10-16 s: they are
      // disconnected whenever their connect settles, without waiting for it.
      if (!clustersConnected) void connected?.then(disconnectClusters, disconnectClusters).catch(() => undefined);
      if (!adminConnected) void admin?.then((client) => client.disconnect()).catch(() => undefined);
      const client = adminConnected;
      admin = undefined;
      adminConnected = undefined;
      await Promise.all([client?.disconnect(), clustersConnected ? disconnectClusters() : undefined, tails]);
    },
  };
}
