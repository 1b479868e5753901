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

/**
 * One error formatter for HTTP and websocket alike: contract codes pass
 * through with their message; anything else becomes INTERNAL_SERVER_ERROR
 * with a correlation id that is also logged. Nothing internal reaches a client.
 */
export function createErrorFormatter(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
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
    const correlationId = randomUUID();
    logger.error({ err: unwrapResolverError(error), correlationId, path: formatted.path }, 'internal error while serving a request');
    return {
      ...base,
      message: `internal error (correlation id ${correlationId})`,
      extensions: { code: 'INTERNAL_SERVER_ERROR', correlationId },
    };
  };
}

export type ErrorFormatter = ReturnType<typeof createErrorFormatter>;

/** Formats errors where graphql-js hands them over unformatted (graphql-ws). */
export const formatGraphQLErrors = (format: ErrorFormatter, errors: readonly GraphQLError[]): GraphQLFormattedError[] =>
  errors.map((error) => format(error.toJSON(), error));
