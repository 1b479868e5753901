import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs on stdout; one logger per process, children per component. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'graphql-kafka-gateway', ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
