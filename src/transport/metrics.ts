import { createHash, timingSafeEqual } from 'node:crypto';
import { getRoute, type Route, sendText } from './routes.js';

/** What GET /metrics serves: the Prometheus text of a registry (src/observability/metrics-registry.ts owns it). */
export interface MetricsText {
  readonly contentType: string;
  metrics(): Promise<string>;
}

export interface MetricsRouteOptions {
  /** When set, only `Authorization: Bearer <token>` is served; anything else is 401. @default undefined (public) */
  readonly token?: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * True when the header carries the token. Both sides are hashed first, so the comparison takes the same time
 * whatever the length or the first wrong byte of what was sent.
 */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return timingSafeEqual(digest(match?.[1] ?? ''), expected) && match !== null;
}

/** GET /metrics in Prometheus text format. */
export function metricsRoute(registry: MetricsText, options: MetricsRouteOptions = {}): Route {
  const expected = options.token === undefined ? undefined : digest(options.token);
  return getRoute('/metrics', async (request, response) => {
    if (expected && !bearerMatches(request.headers.authorization, expected)) {
      sendText(response, 401, 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>\n', {
        'www-authenticate': 'Bearer realm="metrics"',
      });
      return;
    }
    const text = await registry.metrics();
    response.setHeader('content-type', registry.contentType);
    response.setHeader('content-length', Buffer.byteLength(text));
    response.end(text);
  });
}
