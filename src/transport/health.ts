import type { DependencyStatus } from '../observability/reachability.js';
import { getRoute, type Route } from './routes.js';
import { sendJson } from './send-json.js';

/** What /readyz reads: the dependencies' last answers, refreshed in the background (observability/reachability.ts). */
export interface ReadinessState {
  statuses(): [name: string, status: DependencyStatus][];
}

const ANSWER: Record<DependencyStatus, string> = { up: 'ok', down: 'failing', pending: 'pending' };

/**
 * GET /healthz: the process is up. GET /readyz: every dependency answered its last background check, else 503 naming
 * the ones that did not (`failing`) or have not answered yet (`pending`); 503 at once while shutting down. Neither
 * waits on a dependency nor touches one, so a flood of probes costs no connection and no query.
 */
export function healthRoutes(readiness: ReadinessState, isShuttingDown: () => boolean): Route[] {
  return [
    getRoute('/healthz', (_request, response) => sendJson(response, 200, { status: 'ok' })),
    getRoute('/readyz', (_request, response) => {
      // A load balancer must see it before the sockets close.
      if (isShuttingDown()) return sendJson(response, 503, { status: 'shutting-down' });
      const statuses = readiness.statuses();
      const ready = statuses.every(([, status]) => status === 'up');
      sendJson(response, ready ? 200 : 503, {
        status: ready ? 'ready' : 'unavailable',
        checks: Object.fromEntries(statuses.map(([name, status]) => [name, ANSWER[status]])),
      });
    }),
  ];
}
