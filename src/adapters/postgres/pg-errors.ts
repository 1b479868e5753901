import postgres from 'postgres';

/** SQLSTATE codes the adapters translate into contract errors. */
export const PG_UNIQUE_VIOLATION = '23505';
export const PG_NUMERIC_OUT_OF_RANGE = '22003';

export const isPgError = (error: unknown, code: string): boolean => {
  const cause = error instanceof Error && !(error instanceof postgres.PostgresError) ? error.cause : error;
  return (
    (error instanceof postgres.PostgresError && error.code === code) || (cause instanceof postgres.PostgresError && cause.code === code)
  );
};

/** postgres.js's own codes for a connection that could not be made or was lost, and the socket errors under them. */
const CONNECTION_FAILURES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

/**
 * SQLSTATEs of a server going away or not taking sessions: class 08 (connection exception), admin or crash
 * shutdown and "cannot connect now" (57P01-57P03), too many connections (53300).
 */
const SERVER_UNAVAILABLE = /^(08...|57P0[123]|53300)$/;

/** True when the statement failed because the database could not be reached or dropped the session: worth a retry. */
export const isDatabaseUnavailable = (error: unknown): boolean => {
  for (let current = error, depth = 0; current instanceof Error && depth < 3; current = current.cause, depth++) {
    if (current instanceof postgres.PostgresError) return SERVER_UNAVAILABLE.test(current.code);
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_FAILURES.has(code)) return true;
  }
  return false;
};
