import type { ServerResponse } from 'node:http';
import type { GraphQLFormattedError } from 'graphql';
import { sendJson } from './send-json.js';

/** The HTTP status of a request refused before any result, by its contract code. */
export function statusOfCode(code: unknown): number {
  switch (code) {
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'RATE_LIMITED':
    case 'TOO_MANY_SUBSCRIPTIONS':
      return 429;
    case 'SHUTTING_DOWN':
    case 'SERVICE_UNAVAILABLE':
      return 503;
    case 'INTERNAL_SERVER_ERROR':
      return 500;
    default:
      return 400;
  }
}

/** Answers a refusal in GraphQL's error shape, with the first error's status (and Retry-After when it says when). */
export function sendRefusal(response: ServerResponse, errors: readonly GraphQLFormattedError[], status?: number): void {
  const first = errors[0]?.extensions;
  const retryAfter = first?.retryAfterSeconds;
  if (typeof retryAfter === 'number') response.setHeader('retry-after', String(retryAfter));
  sendJson(response, status ?? statusOfCode(first?.code), { errors });
}
