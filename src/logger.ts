import { type Logger, pino } from 'pino';

export type { Logger };

/** JSON logs on stdout; one logger per process, children per component. */
export function createLogger(level: string, format: 'json' | 'pretty' = 'json'): Logger {
  return pino({
    level,
    base: { service: 'graphql-kafka-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // pino-pretty is a development dependency: only `npm run dev` asks for it.
    ...(format === 'pretty' && {
      transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname,service', translateTime: 'SYS:HH:MM:ss.l' } },
    }),
  });
}
