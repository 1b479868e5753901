import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What an incoming `x-request-id` may be to be kept: a token of up to 128 characters, nothing to escape in a log. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:/=+-]{1,128}$/;

const REQUEST_ID: unique symbol = Symbol('request id');
type WithRequestId = ServerResponse & { [REQUEST_ID]?: string };

/** The request's id: its `x-request-id` when sane, else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Gives the request its correlation id, kept on the response and echoed in its `x-request-id` header. */
export function assignRequestIdTo(request: IncomingMessage, response: ServerResponse): string {
  const requestId = requestIdOf(request.headers['x-request-id']);
  (response as WithRequestId)[REQUEST_ID] = requestId;
  response.setHeader('x-request-id', requestId);
  return requestId;
}

/** The id `assignRequestIdTo` gave the request; undefined on routes it does not run on. */
export const requestIdFrom = (response: ServerResponse): string | undefined => (response as WithRequestId)[REQUEST_ID];
