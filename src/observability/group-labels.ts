import { createHmac } from 'node:crypto';

/** How consumer groups appear in metric labels (METRICS_GROUP_LABELS). */
export type GroupLabelMode = 'full' | 'hashed' | 'none';

/** The label of a group, or undefined when groups get no series of their own (`none`). */
export type GroupLabeler = (groupId: string) => string | undefined;

/**
 * `full`: the group id, `<prefix>.<sub>.<subscriberId>`, which names the caller. `hashed`: 12 hex characters of an
 * HMAC of the id, so a scrape tells groups apart (and follows one across restarts and processes sharing the key) but
 * cannot confirm a guessed `sub` without the key. `none`: no per-group label at all.
 */
export function groupLabeler(mode: GroupLabelMode, key: string): GroupLabeler {
  if (mode === 'full') return (groupId) => groupId;
  if (mode === 'none') return () => undefined;
  const cache = new Map<string, string>();
  return (groupId) => {
    let label = cache.get(groupId);
    if (label === undefined) {
      label = createHmac('sha256', key).update(groupId).digest('hex').slice(0, 12);
      // Bounded like the groups followed; a scrape labels at most METRICS_MAX_LAG_GROUPS of them.
      if (cache.size >= 10_000) cache.clear();
      cache.set(groupId, label);
    }
    return label;
  };
}

/** The key of `hashed` labels, derived from the token secret so that every gateway of a deployment agrees. */
export const groupLabelKey = (authSecret: string): string =>
  createHmac('sha256', authSecret).update('metrics-group-label').digest('base64url');
