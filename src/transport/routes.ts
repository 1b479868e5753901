import type { IncomingMessage, ServerResponse } from 'node:http';

/** One thing the HTTP server answers: health, metrics, the explorer, GraphQL. The first route that matches answers. */
export interface Route {
  /** True when this route answers the request (`path` is its URL without the query string). */
  matches(request: IncomingMessage, path: string): boolean;
  handle(request: IncomingMessage, response: ServerResponse): void | Promise<void>;
}

/** The URL's path, without its query string. */
export function pathOf(url: string | undefined): string {
  const value = url ?? '/';
  const query = value.indexOf('?');
  return query === -1 ? value : value.slice(0, query);
}

/** The first of `routes` that answers the request, if any. */
export function routeFor(routes: readonly Route[], request: IncomingMessage): Route | undefined {
  const path = pathOf(request.url);
  return routes.find((route) => route.matches(request, path));
}

/** A GET (or HEAD) route on one exact path. */
export function getRoute(path: string, handle: Route['handle']): Route {
  return {
    matches: (request, requestPath) => (request.method === 'GET' || request.method === 'HEAD') && requestPath === path,
    handle,
  };
}

export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.statusCode = status;
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  response.setHeader('content-type', 'text/plain; charset=utf-8');
  response.setHeader('content-length', Buffer.byteLength(text));
  response.end(text);
}

interface MediaRange {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
}

function parseAccept(header: string): MediaRange[] {
  return header.split(',').flatMap((part): MediaRange[] => {
    const [range = '', ...parameters] = part.split(';');
    const [type, subtype] = range.trim().toLowerCase().split('/');
    if (!type || !subtype) return [];
    const qParameter = parameters.map((p) => p.trim().toLowerCase()).find((p) => p.startsWith('q='));
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    return Number.isFinite(q) ? [{ type, subtype, q }] : [];
  });
}

/** How well one offered type is accepted: the quality of the most specific range that covers it (0: not at all). */
function qualityOf(offered: string, ranges: readonly MediaRange[]): number {
  const [type, subtype] = offered.split('/');
  let best = { specificity: -1, q: 0 };
  for (const range of ranges) {
    const specificity =
      range.type === type && range.subtype === subtype ? 2 : range.type === type && range.subtype === '*' ? 1 : range.type === '*' ? 0 : -1;
    if (specificity > best.specificity) best = { specificity, q: range.q };
  }
  return best.q;
}

/**
 * Content negotiation on `Accept`: the offered type the client accepts with the highest quality, the earlier offered
 * one on a tie; the first offered when the header is absent; undefined when it accepts none of them.
 */
export function preferredType(accept: string | undefined, offered: readonly string[]): string | undefined {
  if (accept === undefined || accept.trim() === '') return offered[0];
  const ranges = parseAccept(accept);
  let chosen: { type: string; q: number } | undefined;
  for (const type of offered) {
    const q = qualityOf(type, ranges);
    if (q > 0 && (chosen === undefined || q > chosen.q)) chosen = { type, q };
  }
  return chosen?.type;
}
