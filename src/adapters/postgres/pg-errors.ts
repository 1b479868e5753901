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
