import type { Admin, Kafka } from 'kafkajs';
import type { GroupInspector } from '../../streaming/ephemeral-group-sweep.js';
import type { CommittedOffset } from '../../streaming/log-client.js';

/**
 * The sweep's reads on an admin client of their own, connected at the first sweep that needs one: thousands of offset
 * fetches of other processes' groups never queue before a subscription's start lookups.
 */
export function createKafkaGroupInspector(kafka: Kafka): GroupInspector {
  let admin: Promise<Admin> | undefined;
  const client = (): Promise<Admin> => {
    admin ??= (async () => {
      const created = kafka.admin();
      await created.connect();
      return created;
    })().catch((error: unknown) => {
      admin = undefined;
      throw error;
    });
    return admin;
  };
  return {
    async committed(groupId) {
      // Every topic the group has offsets on: a subscription of any declared field may have made it.
      const answer = await (await client()).fetchOffsets({ groupId });
      return answer.flatMap(({ partitions }) =>
        partitions.flatMap(({ offset, metadata }): CommittedOffset[] =>
          BigInt(offset) >= 0n ? [{ offset: BigInt(offset), metadata: metadata ?? null }] : [],
        ),
      );
    },
    async states(groupIds) {
      if (groupIds.length === 0) return new Map();
      const { groups } = await (await client()).describeGroups([...groupIds]);
      return new Map(groups.map((group) => [group.groupId, group.state]));
    },
    async close() {
      const connected = await admin?.catch(() => undefined);
      admin = undefined;
      await connected?.disconnect();
    },
  };
}
