import { type logCreator, logLevel } from 'kafkajs';
import type { Logger } from '../../logger.js';

/**
 * Routes kafkajs's own log lines into pino, so the process writes one JSON format.
 * kafkajs's `timestamp` and `logger` fields repeat what pino already writes.
 */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const entry = { kafkajs: namespace, ...extra };
      if (level === logLevel.ERROR) logger.error(entry, message);
      else if (level === logLevel.WARN) logger.warn(entry, message);
      else if (level === logLevel.INFO) logger.debug(entry, message);
      else logger.trace(entry, message);
    };
}
