import type { Logger } from '../logger.js';
import type { RecordRejection } from '../subscriptions/declared-topics.js';

export interface RecordRejectionsOptions {
  readonly logger: Logger;
  /** Counts one rejected record (`gateway_records_rejected_total{field,reason}`). */
  readonly count: (field: string, reason: string) => void;
  /** At most one line per field and reason this often. @default 60000 */
  readonly logIntervalMs?: number;
}

/**
 * Reports records of declared topics that do not fit their declaration: every one counted, one log line per field
 * and reason a minute at most (a producer writing the wrong shape would otherwise log every record it writes).
 */
export function recordRejections({ logger, count, logIntervalMs = 60_000 }: RecordRejectionsOptions): (rejection: RecordRejection) => void {
  const lines = new Map<string, { loggedAt: number; since: number }>();
  return (rejection) => {
    const { field, topic, reason, partition, offset, path } = rejection;
    count(field, reason);
    const key = `${field}\n${reason}`;
    const now = Date.now();
    const last = lines.get(key);
    if (last && now - last.loggedAt < logIntervalMs) {
      last.since++;
      return;
    }
    lines.set(key, { loggedAt: now, since: 0 });
    logger.warn(
      {
        field,
        topic,
        reason,
        partition,
        offset: String(offset),
        ...(path !== undefined && { path }),
        rejectedSinceLastLine: last ? last.since + 1 : 1,
      },
      'skipping records of a declared topic that do not fit its declaration',
    );
  };
}
