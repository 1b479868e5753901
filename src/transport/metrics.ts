import express, { type Router } from 'express';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface GatewayGauges {
  /** Open orderSettled subscriptions on this process. */
  activeSubscriptions(): number;
  /** Outbox rows not yet on Kafka (as last seen by this process's relay). */
  outboxPending(): number;
  /** 1 while this process holds the relay lock. */
  relayActive(): number;
  /** Open graphql-ws sockets. */
  websocketConnections(): number;
}

/** GET /metrics in Prometheus text format, with a registry of this app's own. */
export function metricsRoute(gauges: GatewayGauges): Router {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('gateway_subscriptions_active', 'Open orderSettled subscriptions', gauges.activeSubscriptions);
  gauge('gateway_outbox_pending', 'Outbox records not yet published, as last seen by the relay', gauges.outboxPending);
  gauge('gateway_relay_active', '1 while this process is the active outbox relay', gauges.relayActive);
  gauge('gateway_websocket_connections', 'Open graphql-ws sockets', gauges.websocketConnections);
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
