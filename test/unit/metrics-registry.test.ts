import { describe, expect, it } from 'vitest';
import { buildGatewaySchema } from '../../src/graphql/schema.js';
import { groupLabeler, groupLabelKey } from '../../src/observability/group-labels.js';
import { createGatewayMetrics } from '../../src/observability/metrics-registry.js';
import type { GroupLagEntry } from '../../src/streaming/group-lag.js';
import { rootFieldNames } from '../../src/transport/operation-metrics.js';
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
      { groupId: 'gql.a.x', topic: 'orders', lag: 5, connected: true },
      { groupId: 'gql.b.x', topic: 'orders', lag: 1, connected: false },
      { groupId: 'gql.c.x', topic: 'orders', lag: 9, connected: false },
      { groupId: 'gql.d.x', topic: 'orders', lag: 3, connected: true },
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

  it('should label lag by group and topic, a group following two topics once on each, the rest summed per topic', async () => {
    const lag: GroupLagEntry[] = [
      { groupId: 'gql.n.x', topic: 'orders', lag: 5, connected: true },
      { groupId: 'gql.n.x', topic: 'topups', lag: 2, connected: true },
      { groupId: 'gql.a.x', topic: 'orders', lag: 1, connected: false },
      { groupId: 'gql.b.x', topic: 'topups', lag: 1, connected: false },
    ];
    const samples = await samplesOf(metricsWith({ groupLag: () => lag }, 2));
    expect(named(samples, 'gateway_consumer_group_lag').map((s) => [s.labels.group, s.labels.topic, s.value])).toEqual([
      ['gql.n.x', 'orders', 5],
      ['gql.n.x', 'topups', 2],
      ['other', 'orders', 1],
      ['other', 'topups', 1],
    ]);
  });

  it('should count rejected records by field and reason', async () => {
    const metrics = metricsWith({});
    metrics.recordRejected('topupCompleted', 'not_json');
    metrics.recordRejected('topupCompleted', 'not_json');
    metrics.recordRejected('topupCompleted', 'payload_shape');
    const samples = await samplesOf(metrics);
    expect(sampleValue(samples, 'gateway_records_rejected_total', { field: 'topupCompleted', reason: 'not_json' })).toBe(2);
    expect(sampleValue(samples, 'gateway_records_rejected_total', { field: 'topupCompleted', reason: 'payload_shape' })).toBe(1);
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

  it('should count background checks of each dependency by result', async () => {
    const metrics = metricsWith();
    metrics.dependencies.checked('kafka', true);
    metrics.dependencies.checked('kafka', true);
    metrics.dependencies.checked('kafka', false);
    metrics.dependencies.checked('postgres', true);
    const samples = await samplesOf(metrics);
    expect(sampleValue(samples, 'gateway_readiness_checks_total', { dependency: 'kafka', result: 'up' })).toBe(2);
    expect(sampleValue(samples, 'gateway_readiness_checks_total', { dependency: 'kafka', result: 'down' })).toBe(1);
    expect(sampleValue(samples, 'gateway_readiness_checks_total', { dependency: 'postgres', result: 'up' })).toBe(1);
    expect(sampleValue(samples, 'gateway_readiness_checks_total', { dependency: 'postgres', result: 'down' })).toBeUndefined();
  });

  describe('group labels (METRICS_GROUP_LABELS)', () => {
    const lag: GroupLagEntry[] = [
      { groupId: 'gql.alice.ledger', topic: 'orders', lag: 7, connected: true },
      { groupId: 'gql.bob.ledger', topic: 'orders', lag: 3, connected: false },
      { groupId: 'gql.carol.audit', topic: 'orders', lag: 1, connected: false },
    ];
    const labelled = async (mode: 'full' | 'hashed' | 'none', key = 'key-one', maxLagGroups = 2) => {
      const metrics = createGatewayMetrics({
        operations: rootFieldNames(buildGatewaySchema()),
        maxLagGroups,
        groupLabel: groupLabeler(mode, key),
      });
      metrics.readFrom({
        activeSubscriptions: () => 0,
        outboxPending: () => 0,
        relayActive: () => false,
        websocketConnections: () => 0,
        groupLag: () => lag,
        reachability: () => new Map(),
      });
      const text = await metrics.metrics();
      return { text, series: named(parseMetrics(text), 'gateway_consumer_group_lag').map((s) => [s.labels.group, s.value]) };
    };

    it('should label groups with their id when full', async () => {
      expect((await labelled('full')).series).toEqual([
        ['gql.alice.ledger', 7],
        ['gql.bob.ledger', 3],
        ['other', 1],
      ]);
    });

    it("should label groups with a short stable hash when hashed, naming no caller's sub", async () => {
      const { text, series } = await labelled('hashed');
      expect(series.map(([, value]) => value)).toEqual([7, 3, 1]);
      const labels = series.map(([label]) => label);
      expect(labels[2]).toBe('other');
      for (const label of labels.slice(0, 2)) expect(label).toMatch(/^[0-9a-f]{12}$/);
      expect(new Set(labels).size).toBe(3);
      for (const sub of ['alice', 'bob', 'carol', 'ledger']) expect(text).not.toContain(sub);
      // The same on every scrape and every process with the same key; another key gives others.
      expect((await labelled('hashed')).series).toEqual(series);
      const otherKey = (await labelled('hashed', 'key-two')).series.map(([label]) => label);
      expect(otherKey.slice(0, 2)).not.toEqual(labels.slice(0, 2));
    });

    it('should sum every group under group="other" when none', async () => {
      const { text, series } = await labelled('none');
      expect(series).toEqual([['other', 11]]);
      for (const sub of ['alice', 'bob', 'carol']) expect(text).not.toContain(sub);
    });

    it('should derive the hashing key from the token secret, the same for every process', () => {
      expect(groupLabelKey('secret-a')).toBe(groupLabelKey('secret-a'));
      expect(groupLabelKey('secret-a')).not.toBe(groupLabelKey('secret-b'));
      expect(groupLabelKey('secret-a')).not.toContain('secret-a');
    });
  });
});
