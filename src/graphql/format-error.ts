import { randomUUID } from 'node:crypto';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError, ERROR_CODES, type ErrorCode } from '../errors.js';
import type { Logger } from '../logger.js';

declare module 'graphql' {
  interface GraphQLErrorExtensions {
    code?:
      | ErrorCode
      | 'GRAPHQL_PARSE_FAILED'
      | 'GRAPHQL_VALIDATION_FAILED'
      | 'BAD_REQUEST'
      | 'PERSISTED_QUERY_NOT_FOUND'
      | 'PERSISTED_QUERY_NOT_SUPPORTED'
      | 'OPERATION_RESOLUTION_FAILURE';
    correlationId?: string;
    retryAfterSeconds?: number;
  }
}

/** Every code a client may see in `extensions.code`: the contract's and Apollo's own. */
export const CLIENT_CODES: ReadonlySet<string> = new Set<string>([
  ...ERROR_CODES,
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/** Codes our scalars and validation rules put on GraphQLErrors, which Apollo may wrap under its own code. */
const OWN_GRAPHQL_CODES = new Set(['BAD_USER_INPUT', 'QUERY_TOO_COMPLEX']);

/** The innermost error we raised ourselves (an AppError, or a GraphQLError from a scalar), if any. */
function ownError(error: unknown): AppError | GraphQLError | undefined {
  let current: unknown = unwrapResolverError(error);
  for (let depth = 0; depth < 5 && current; depth++) {
    if (current instanceof AppError) return current;
    if (current instanceof GraphQLError && OWN_GRAPHQL_CODES.has(String(current.extensions.code))) return current;
    current = current instanceof GraphQLError ? current.originalError : undefined;
  }
  return undefined;
}

/** Whether `error` (as `formatted`) is a fault of the gateway's own: INTERNAL_SERVER_ERROR with a correlation id. */
function isInternal(formatted: GraphQLFormattedError, error: unknown): boolean {
  if (ownError(error)) return false;
  const code = formatted.extensions?.code;
  return !(typeof code === 'string' && CLIENT_CODES.has(code) && code !== 'INTERNAL_SERVER_ERROR');
}

/**
 * One error formatter for HTTP and websocket alike: contract codes pass
 * through with their message; anything else becomes INTERNAL_SERVER_ERROR
 * with a correlation id that is also logged. Nothing internal reaches a client.
 * An internal error is logged with the logger of its request or operation: by `logInternal` (HTTP, where Apollo
 * formats without the request's context), or by the formatter when called with one (websockets); `logger` is
 * for the rest.
 */
export function createErrorFormatter(logger: Logger) {
  const correlationIds = new WeakMap<object, string>();
  const logNow = (error: unknown, path: GraphQLFormattedError['path'], on: Logger): string => {
    const correlationId = randomUUID();
    on.error({ err: unwrapResolverError(error), correlationId, path }, 'internal error while serving a request');
    return correlationId;
  };
  const format = (formatted: GraphQLFormattedError, error: unknown, requestLogger?: Logger): GraphQLFormattedError => {
    const own = ownError(error);
    const base = {
      message: formatted.message,
      ...(formatted.locations && { locations: formatted.locations }),
      ...(formatted.path && { path: formatted.path }),
    };
    if (own instanceof AppError) {
      return { ...base, message: own.message, extensions: { code: own.code, ...own.details } };
    }
    if (own instanceof GraphQLError) {
      // A scalar rejected a value (bad input), or a limit refused the operation, whatever phase caught it.
      return {
        ...base,
        message: own.message,
        extensions: { code: own.extensions.code === 'QUERY_TOO_COMPLEX' ? 'QUERY_TOO_COMPLEX' : 'BAD_USER_INPUT' },
      };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && CLIENT_CODES.has(code) && code !== 'INTERNAL_SERVER_ERROR') {
      return { ...base, extensions: { code } };
    }
    const logged = typeof error === 'object' && error !== null ? correlationIds.get(error) : undefined;
    const correlationId = logged ?? logNow(error, formatted.path, requestLogger ?? logger);
    return {
      ...base,
      message: `internal error (correlation id ${correlationId})`,
      extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId },
    };
  };
  /** Logs the internal errors among `errors` with `requestLogger` now; formatting them later reuses their ids. */
  const logInternal = (errors: readonly GraphQLError[], requestLogger: Logger): void => {
    for (const error of errors) {
      const formatted = error.toJSON();
      if (!correlationIds.has(error) && isInternal(formatted, error))
        correlationIds.set(error, logNow(error, formatted.path, requestLogger));
    }
  };
  return Object.assign(format, { logInternal });
}

export type ErrorFormatter = ReturnType<typeof createErrorFormatter>;

/** Formats errors where graphql-js hands them over unformatted (graphql-ws). */
export const formatGraphQLErrors = (format: ErrorFormatter, errors: readonly GraphQLError[], logger?: Logger): GraphQLFormattedError[] =>
  errors.map((error) => format(error.toJSON(), error, logger));
