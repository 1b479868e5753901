import { describe, expect, it } from 'vitest';
import type { GroupLagEntry } from '../../src/streaming/group-lag.js';
import { metricsWith, parseMetrics, type Sample, sampleValue } from '../support/metrics.js';

const samplesOf = async (metrics: ReturnType<typeof metricsWith>) => parseMetrics(await metrics.metrics());
const named = (samples: Sample[], name: string) => samples.filter((s) => s.name === name);

describe('gateway metrics', () => {
  it('should count placeOrder outcomes and time operations by transport, root field and code', async () => {
    const metrics = metricsWith();
    for (let i = 0; i < 3; i++) metrics.http.operation('http', 'placeOrder', 'OK', 0.002);
    metrics.websocket.operation('websocket', 'placeOrder', 'INSUFFICIENT_FUNDS', 0.004);
    metrics.http.operation('http', 'deposit', 'OK', 0.003);
    const samples = await samplesOf(metrics);
    expect(sampleValue(samples, 'gateway_place_order_outcomes_total', { code: 'OK' })).toBe(3);
    expect(sampleValue(samples, 'gateway_place_order_outcomes_total', { code: 'INSUFFICIENT_FUNDS' })).toBe(1);
    // Every outcome is there from the start, so a first refusal is a rate rather than a new series.
    expect(sampleValue(samples, 'gateway_place_order_outcomes_total', { code: 'RATE_LIMITED' })).toBe(0);
    expect(named(samples, 'gateway_place_order_outcomes_total').reduce((sum, s) => sum + s.value, 0)).toBe(4);
    const placeOk = { transport: 'http', operation: 'placeOrder', code: 'OK' };
    expect(sampleValue(samples, 'gateway_graphql_operation_duration_seconds_count', placeOk)).toBe(3);
    expect(sampleValue(samples, 'gateway_graphql_operation_duration_seconds_sum', placeOk)).toBeCloseTo(0.006);
    // Buckets are cumulative, +Inf holding them all.
    expect(sampleValue(samples, 'gateway_graphql_operation_duration_seconds_bucket', { ...placeOk, le: '0.001' })).toBe(0);
    expect(sampleValue(samples, 'gateway_graphql_operation_duration_seconds_bucket', { ...placeOk, le: '0.0025' })).toBe(3);
    expect(sampleValue(samples, 'gateway_graphql_operation_duration_seconds_bucket', { ...placeOk, le: '10' })).toBe(3);
    expect(sampleValue(samples, 'gateway_graphql_operation_duration_seconds_bucket', { ...placeOk, le: '+Inf' })).toBe(3);
    expect(
      sampleValue(samples, 'gateway_graphql_operation_duration_seconds_count', {
        transport: 'websocket',
        operation: 'placeOrder',
        code: 'INSUFFICIENT_FUNDS',
      }),
    ).toBe(1);
  });

  it('should bound operation and code labels to the schema and the contract', async () => {
    const metrics = metricsWith();
    metrics.http.operation('http', 'notAField', 'OK', 0.001);
    metrics.http.operation('http', 'placeOrder', 'SOMETHING_NEW', 0.001);
    const samples = await samplesOf(metrics);
    expect(sampleValue(samples, 'gateway_graphql_operation_duration_seconds_count', { operation: 'other', code: 'OK' })).toBe(1);
    expect(sampleValue(samples, 'gateway_place_order_outcomes_total', { code: 'OTHER' })).toBe(1);
    expect(named(samples, 'gateway_graphql_operation_duration_seconds_count').map((s) => s.labels.operation)).not.toContain('notAField');
  });

  it('should label the groups furthest behind, up to the bound, and sum the rest under group="other"', async () => {
    const lag: GroupLagEntry[] = [
      { groupId: 'gql.a.x', lag: 5, connected: true },
      { groupId: 'gql.b.x', lag: 1, connected: false },
      { groupId: 'gql.c.x', lag: 9, connected: false },
      { groupId: 'gql.d.x', lag: 3, connected: true },
    ];
    const samples = await samplesOf(metricsWith({ groupLag: () => lag }, 2));
    expect(named(samples, 'gateway_consumer_group_lag').map((s) => [s.labels.group, s.value])).toEqual([
      ['gql.c.x', 9],
      ['gql.a.x', 5],
      ['other', 4],
    ]);
    expect(sampleValue(samples, 'gateway_consumer_group_lag_groups', { state: 'connected' })).toBe(2);
    expect(sampleValue(samples, 'gateway_consumer_group_lag_groups', { state: 'disconnected' })).toBe(2);
    // Within the bound, no "other" series.
    const within = await samplesOf(metricsWith({ groupLag: () => lag }, 4));
    expect(named(within, 'gateway_consumer_group_lag').map((s) => s.labels.group)).not.toContain('other');
  });

  it('should report the subscription kinds, deliveries, disconnects, relay figures and dependencies it is told of', async () => {
    const metrics = metricsWith({
      reachability: () =>
        new Map([
          ['postgres', true],
          ['kafka', false],
        ]),
      relayActive: () => true,
    });
    metrics.subscriptions.opened('durable');
    metrics.subscriptions.opened('ephemeral');
    metrics.subscriptions.opened('ephemeral');
    metrics.subscriptions.closed('ephemeral');
    metrics.subscriptions.delivered('durable');
    metrics.subscriptions.lagged();
    metrics.websocket.unresponsiveClosed();
    metrics.websocket.unresponsiveClosed();
    metrics.relay.published(250, 0.012);
    metrics.relay.publishFailed();
    metrics.relay.oldestPending(4);
    const samples = await samplesOf(metrics);
    expect(sampleValue(samples, 'gateway_subscriptions_open', { kind: 'durable' })).toBe(1);
    expect(sampleValue(samples, 'gateway_subscriptions_open', { kind: 'ephemeral' })).toBe(1);
    expect(sampleValue(samples, 'gateway_events_delivered_total', { kind: 'durable' })).toBe(1);
    expect(sampleValue(samples, 'gateway_events_delivered_total', { kind: 'ephemeral' })).toBe(0);
    expect(sampleValue(samples, 'gateway_slow_client_disconnects_total', { reason: 'lagged' })).toBe(1);
    expect(sampleValue(samples, 'gateway_slow_client_disconnects_total', { reason: 'keepalive' })).toBe(2);
    expect(sampleValue(samples, 'gateway_relay_batch_records_sum')).toBe(250);
    expect(sampleValue(samples, 'gateway_relay_publish_duration_seconds_count')).toBe(1);
    expect(sampleValue(samples, 'gateway_relay_publish_failures_total')).toBe(1);
    expect(sampleValue(samples, 'gateway_outbox_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(4);
    expect(sampleValue(samples, 'gateway_relay_active')).toBe(1);
    expect(sampleValue(samples, 'gateway_dependency_up', { dependency: 'postgres' })).toBe(1);
    expect(sampleValue(samples, 'gateway_dependency_up', { dependency: 'kafka' })).toBe(0);
    metrics.relay.oldestPending(null);
    expect(sampleValue(await samplesOf(metrics), 'gateway_outbox_oldest_pending_age_seconds')).toBe(0);
  });
});
