import type { Kafka } from 'kafkajs';
import { keptClientCheck, type ReachabilityCheck } from '../kept-client-check.js';

/**
 * A metadata request on one admin client kept connected: the per-check admin it replaces opened 600 connections a
 * second under a /readyz flood. After the broker went away, `connect` connects again (a no-op while connected).
 */
export function kafkaReachability(kafka: Kafka, timeoutMs = 2000): ReachabilityCheck {
  return keptClientCheck({
    open: () => kafka.admin({ retry: { retries: 0 } }),
    ask: async (admin) => {
      await admin.connect();
      await admin.describeCluster();
    },
    close: (admin) => admin.disconnect(),
    timeoutMs,
  });
}
