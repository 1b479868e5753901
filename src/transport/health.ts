import type { Router } from 'express';
import express from 'express';

export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<boolean>;
}

/** GET /healthz: the process is up. GET /readyz: every dependency answers, else 503 naming the ones that do not; 503 at once while shutting down. */
export function healthRoutes(checks: readonly ReadinessCheck[], isShuttingDown: () => boolean): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    // At once, without waiting on the checks: a load balancer must see it before the sockets close.
    if (isShuttingDown()) {
      res.status(503).json({ status: 'shutting-down' });
      return;
    }
    const results = await Promise.all(checks.map(async (c) => [c.name, await c.check().catch(() => false)] as const));
    const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
    res.status(failing.length === 0 ? 200 : 503).json({
      status: failing.length === 0 ? 'ready' : 'unavailable',
      checks: Object.fromEntries(results.map(([name, ok]) => [name, ok ? 'ok' : 'failing'])),
    });
  });
  return router;
}
