import express, { type Router } from 'express';

/** What GET /metrics serves: the Prometheus text of a registry (src/observability/metrics-registry.ts owns it). */
export interface MetricsText {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** GET /metrics in Prometheus text format. */
export function metricsRoute(registry: MetricsText): Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
