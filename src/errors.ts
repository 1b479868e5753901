/** Every `extensions.code` a client can see; CONTRACT.md lists their meanings. */
export const ERROR_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'ACCOUNT_NOT_FOUND',
  'INSUFFICIENT_FUNDS',
  'CURRENCY_MISMATCH',
  'IDEMPOTENCY_CONFLICT',
  'QUERY_TOO_COMPLEX',
  'RATE_LIMITED',
  /** Added to the contract: a socket or caller holds as many subscriptions as this gateway allows. */
  'TOO_MANY_SUBSCRIPTIONS',
  /** Added to the contract: an ephemeral subscription fell further behind than the gateway keeps, and was ended. */
  'SUBSCRIBER_TOO_SLOW',
  /** Added to the contract: the Kafka topic behind a declared subscription field was deleted, and the subscription ended. */
  'TOPIC_DELETED',
  /** Added to the contract: the database could not be reached; nothing was changed, or a retry with the same key replays it. */
  'SERVICE_UNAVAILABLE',
  /** Added to the contract: this gateway instance is shutting down (HTTP 503); the same request may be retried. */
  'SHUTTING_DOWN',
  'INTERNAL_SERVER_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error a client caused (or may see), carrying its contract code. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export const isAppError = (error: unknown): error is AppError => error instanceof AppError;

export const badInput = (message: string, field?: string): AppError =>
  new AppError('BAD_USER_INPUT', message, field ? { details: { field } } : {});
