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
 * directly. Everything else goes through the public admin client.
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

interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  refreshMetadataIfNecessary(): Promise<void>;
  findTopicPartitionMetadata(topic: string): { partitionId: number; leader: number }[];
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(query: { nodeId: string }): Promise<InternalBroker>;
  findGroupCoordinator(query: { groupId: string }): Promise<InternalBroker>;
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

/**
 * A `LogClient` on kafkajs: two clusters (so a long-polling fetch of the shared reader never queues a catch-up read
 * or a commit behind it on one connection) and one admin client: a handful of broker connections in all.
 */
export function createKafkaWire(kafka: Kafka): LogClient {
  const tailCluster = createCluster(kafka);
  const sideCluster = createCluster(kafka);
  let admin: Promise<Admin> | undefined;
  let connected: Promise<void> | undefined;
  let closed = false;

  const ready = (): Promise<void> => {
    if (closed) return Promise.reject(new Error('the Kafka log client is closed'));
    connected ??= Promise.all([tailCluster.connect(), sideCluster.connect()]).then(
      () => {},
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
      return client;
    })().catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    return admin;
  };

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

  return {
    async partitions(topic) {
      const watermarks = await this.watermarks(topic);
      return [...watermarks.keys()].sort((a, b) => a - b);
    },

    async watermarks(topic) {
      const marks = await (await adminClient()).fetchTopicOffsets(topic);
      return new Map<number, Watermarks>(marks.map((m) => [m.partition, { low: BigInt(m.low), high: BigInt(m.high) }]));
    },

    async offsetsAt(topic, at) {
      const offsets = await (await adminClient()).fetchTopicOffsetsByTimestamp(topic, at.getTime());
      return new Map(offsets.map((o) => [o.partition, BigInt(o.offset)]));
    },

    tail: (topic, offsets, maxWaitMs, maxBytesPerPartition) => fetchFrom(tailCluster, topic, offsets, maxWaitMs, maxBytesPerPartition),

    read: (topic, offsets, maxBytesPerPartition) => fetchFrom(sideCluster, topic, offsets, 0, maxBytesPerPartition),

    async committed(groupId, topic) {
      const [offsets] = await (await adminClient()).fetchOffsets({ groupId, topics: [topic] });
      const result = new Map<number, CommittedOffset>();
      for (const p of offsets?.partitions ?? []) {
        const offset = BigInt(p.offset);
        if (offset >= 0n) result.set(p.partition, { offset, metadata: p.metadata ?? null });
      }
      return result;
    },

    async commit(groupId, topic, offsets, metadata) {
      await ready();
      const coordinator = await sideCluster.findGroupCoordinator({ groupId });
      const { responses } = await coordinator.offsetCommit({
        groupId,
        // Not a member: Kafka takes the commit as a standalone one while the group has no members.
        groupGenerationId: -1,
        memberId: '',
        topics: [{ topic, partitions: [...offsets].map(([partition, offset]) => ({ partition, offset: String(offset), metadata })) }],
      });
      const failed = responses.flatMap((r) => r.partitions).find((p) => p.errorCode !== 0);
      if (failed) throw new Error(`offset commit for ${groupId} failed with Kafka error code ${failed.errorCode}`);
    },

    async listGroups() {
      const { groups } = await (await adminClient()).listGroups();
      return groups.map((g) => g.groupId);
    },

    async deleteGroups(groupIds) {
      if (groupIds.length === 0) return [];
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
      const client = await admin?.catch(() => undefined);
      admin = undefined;
      await Promise.all([
        client?.disconnect(),
        connected?.catch(() => {}).then(() => Promise.all([tailCluster.disconnect(), sideCluster.disconnect()])),
      ]);
    },
  };
}
