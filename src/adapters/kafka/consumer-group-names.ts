import { randomUUID } from 'node:crypto';
import { AppError, badInput } from '../../errors.js';

const EPHEMERAL = 'ephemeral';

const SUBSCRIBER_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * CONTRACT.md: a durable subscription reads through `<prefix>.<sub>.<subscriberId>`,
 * so no caller can read or move another caller's group. That holds only if `sub` is one
 * dot-free segment: `a.b`+`c` and `a`+`b.c` would share a group, and `ephemeral` would
 * land among the ephemeral groups. Such callers may subscribe, but not durably.
 * @throws AppError BAD_USER_INPUT when subscriberId is not 1-64 of [A-Za-z0-9._-].
 * @throws AppError FORBIDDEN when the caller's sub cannot name a group of its own.
 */
export function durableGroupId(prefix: string, sub: string, subscriberId: string): string {
  if (!SUBSCRIBER_ID.test(subscriberId)) {
    throw badInput('subscriberId must be 1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-"', 'subscriberId');
  }
  if (sub.includes('.') || sub === EPHEMERAL) {
    throw new AppError(
      'FORBIDDEN',
      `a durable subscription needs a token whose sub has no "." and is not "${EPHEMERAL}": its consumer group name would be ambiguous; subscribe without subscriberId`,
    );
  }
  return `${prefix}.${sub}.${subscriberId}`;
}

/** A group of one subscription's own, deleted when it ends. */
export const ephemeralGroupId = (prefix: string): string => `${prefix}.${EPHEMERAL}.${randomUUID()}`;

/** Whether a group id (as Kafka lists it) is a durable subscription group under this prefix: `<prefix>.<sub>.<subscriberId>`. */
export function isDurableGroupId(prefix: string, groupId: string): boolean {
  if (!groupId.startsWith(`${prefix}.`)) return false;
  const rest = groupId.slice(prefix.length + 1);
  const dot = rest.indexOf('.');
  return dot > 0 && rest.slice(0, dot) !== EPHEMERAL && SUBSCRIBER_ID.test(rest.slice(dot + 1));
}

/** Whether a group id is an ephemeral subscription's group under this prefix. */
export const isEphemeralGroupId = (prefix: string, groupId: string): boolean => groupId.startsWith(`${prefix}.${EPHEMERAL}.`);

const PRESENCE = 'gateway-';

/**
 * The group whose commit a live gateway process renews, so that other processes know its ephemeral groups are in use:
 * `<prefix>.gateway-<instanceId>`. One dot, so it is neither a durable group (those have two) nor an ephemeral one.
 */
export const presenceGroupId = (prefix: string, instanceId: string): string => `${prefix}.${PRESENCE}${instanceId}`;

/** The gateway process a presence group belongs to; undefined for any other group. */
export function presenceOwner(prefix: string, groupId: string): string | undefined {
  const start = `${prefix}.${PRESENCE}`;
  if (!groupId.startsWith(start)) return undefined;
  const owner = groupId.slice(start.length);
  return owner !== '' && !owner.includes('.') ? owner : undefined;
}
