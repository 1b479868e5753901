import { setTimeout as delay } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import type { Logger } from '../../logger.js';

const NON_EMPTY_GROUP = 68;
const GROUP_ID_NOT_FOUND = 69;

/** Kafka's error code for the one group in a failed deleteGroups call (kafkajs' KafkaJSDeleteGroupsError). */
function deleteErrorCode(error: unknown): number | undefined {
  const groups: unknown = typeof error === 'object' && error !== null ? Reflect.get(error, 'groups') : undefined;
  const first: unknown = Array.isArray(groups) ? groups[0] : undefined;
  const code: unknown = typeof first === 'object' && first !== null ? Reflect.get(first, 'errorCode') : undefined;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Deletes an ephemeral subscription's group once its consumer left. The
 * coordinator may still count the member for a moment, so NON_EMPTY_GROUP is
 * retried briefly; a group that never committed anything does not exist.
 */
export async function deleteEphemeralGroup(admin: Admin, groupId: string, logger: Logger, attempts = 30): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (error) {
      const code = deleteErrorCode(error);
      if (code === GROUP_ID_NOT_FOUND) return;
      if (code !== NON_EMPTY_GROUP || attempt >= attempts) {
        logger.warn({ err: error, groupId }, 'could not delete an ephemeral consumer group');
        return;
      }
      await delay(100);
    }
  }
}
