import { type logCreator, logLevel } from 'kafkajs';
import type { Logger } from '../../logger.js';

/** Routes kafkajs's own log lines into pino, so the process writes one JSON format. */
export function kafkaLogCreator(logger: Logger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...extra } = log;
      const entry = { component: 'kafkajs', namespace: log.namespace, ...extra };
      if (level === logLevel.ERROR) logger.error(entry, message);
      else if (level === logLevel.WARN) logger.warn(entry, message);
      else if (level === logLevel.INFO) logger.debug(entry, message);
      else logger.trace(entry, message);
    };
}
