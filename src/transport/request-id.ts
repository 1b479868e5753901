import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';

/** What an incoming `x-request-id` may be to be kept: a token of up to 128 characters, nothing to escape in a log. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:/=+-]{1,128}$/;

/** The request's id: its `x-request-id` when sane, else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Gives every HTTP request its correlation id (`res.locals.requestId`) and echoes it in the `x-request-id` response header. */
export const assignRequestId: RequestHandler = (request, response, next) => {
  const requestId = requestIdOf(request.headers['x-request-id']);
  response.locals.requestId = requestId;
  response.setHeader('x-request-id', requestId);
  next();
};

/** The id `assignRequestId` gave the request; undefined on routes it does not run on. */
export const requestIdFrom = (response: Response): string | undefined => response.locals.requestId as string | undefined;
