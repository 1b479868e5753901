import type { ServerResponse } from 'node:http';

/** Ends a plain node:http response with a JSON body, as Express's `res.status(status).json(value)` would. */
export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.statusCode = status;
  response.setHeader('content-type', 'application/json; charset=utf-8');
  response.setHeader('content-length', Buffer.byteLength(body));
  response.end(body);
}
