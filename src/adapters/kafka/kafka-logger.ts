import { type logCreator, logLevel } from 'kafkajs';
import type { Logger } from '../../logger.js';

/** kafkajs repeats the same line on every retry while a broker is down: one per window is enough. */
export const REPEAT_WINDOW_MS = 30_000;

/**
 * Routes kafkajs's own log lines into pino, so the process writes one JSON format.
 * kafkajs's `timestamp` and `logger` fields repeat what pino already writes. A line
 * seen again within {@link REPEAT_WINDOW_MS} is counted, not written; the next one
 * written after the window says how many were left out (`repeated`).
 */
export function kafkaLogCreator(logger: Logger, now: () => number = Date.now): logCreator {
  const recent = new Map<string, { since: number; repeated: number }>();
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const key = `${level}|${namespace}|${message}|${String(extra.broker ?? '')}|${String(extra.groupId ?? '')}`;
      const at = now();
      const seen = recent.get(key);
      if (seen && at - seen.since < REPEAT_WINDOW_MS) {
        seen.repeated++;
        return;
      }
      if (recent.size > 1000) recent.clear();
      recent.set(key, { since: at, repeated: 0 });
      const entry = { kafkajs: namespace, ...extra, ...(seen?.repeated ? { repeated: seen.repeated } : {}) };
      if (level === logLevel.ERROR) logger.error(entry, message);
      else if (level === logLevel.WARN) logger.warn(entry, message);
      else if (level === logLevel.INFO) logger.debug(entry, message);
      else logger.trace(entry, message);
    };
}
