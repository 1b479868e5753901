import { randomUUID } from 'node:crypto';
import { badInput } from '../../errors.js';

const SUBSCRIBER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * CONTRACT.md: a durable subscription reads through `<prefix>.<sub>.<subscriberId>`,
 * so no caller can read or move another caller's group.
 * @throws AppError BAD_USER_INPUT when subscriberId is not 1-64 of [A-Za-z0-9._-].
 */
export function durableGroupId(prefix: string, sub: string, subscriberId: string): string {
  if (!SUBSCRIBER_ID.test(subscriberId)) {
    throw badInput('subscriberId must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-"', 'subscriberId');
  }
  return `${prefix}.${sub}.${subscriberId}`;
}

/** A group of one subscription's own, deleted when it ends. */
export const ephemeralGroupId = (prefix: string): string => `${prefix}.ephemeral.${randomUUID()}`;
