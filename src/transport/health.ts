import type { Router } from 'express';
import express from 'express';
import type { DependencyStatus } from '../observability/reachability.js';

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
export function healthRoutes(readiness: ReadinessState, isShuttingDown: () => boolean): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    // A load balancer must see it before the sockets close.
    if (isShuttingDown()) {
      res.status(503).json({ status: 'shutting-down' });
      return;
    }
    const statuses = readiness.statuses();
    const ready = statuses.every(([, status]) => status === 'up');
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'unavailable',
      checks: Object.fromEntries(statuses.map(([name, status]) => [name, ANSWER[status]])),
    });
  });
  return router;
}
