import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { SubscriptionKind, SubscriptionObserver } from '../adapters/kafka/kafka-topic-source.js';
import { CLIENT_CODES } from '../graphql/format-error.js';
import type { RelayThreadObserver } from '../relay/relay-thread.js';
import type { GroupLagEntry } from '../streaming/group-lag.js';
import {
  type HttpObserver,
  type HttpRoute,
  OK,
  OTHER_CODE,
  OTHER_OPERATION,
  type Transport,
  type WebSocketObserver,
} from '../transport/operation-metrics.js';
import type { GroupLabeler } from './group-labels.js';
import { BoundCounter, BoundHistogram, type CounterSeries, type HistogramSeries } from './series.js';

/** What the gateway's metrics read when scraped. */
export interface MetricsSources {
  /** Open subscriptions of declared fields on this process. */
  activeSubscriptions(): number;
  /** Outbox rows not yet on Kafka, as this process's relay last saw them. */
  outboxPending(): number;
  /** True while this process holds the relay lease. */
  relayActive(): boolean;
  /** Open graphql-ws sockets. */
  websocketConnections(): number;
  /** The lag of every durable group followed. */
  groupLag(): readonly GroupLagEntry[];
  /** The last probe of each dependency (name -> answered); absent before its first probe. */
  reachability(): ReadonlyMap<string, boolean>;
}

export interface GatewayMetricsOptions {
  /** Root fields of the schema: the operation labels besides `other`. */
  readonly operations: readonly string[];
  /** Groups labelled in gateway_consumer_group_lag, largest lag first; the rest are summed under group="other". */
  readonly maxLagGroups: number;
  /** The label of a group in the metrics that list groups (group-labels.ts); undefined: no series of its own. @default the group id */
  readonly groupLabel?: GroupLabeler;
  /** A durable group not connected and not committed for this long is idle (gateway_idle_durable_groups). @default 2592000000 (30 days) */
  readonly durableGroupIdleMs?: number;
}

/** The gateway's metrics: its own registry (and nothing in the global one), and the hooks that feed it. */
export interface GatewayMetrics {
  /** What the gauges read at each scrape, once the parts that hold it are built. */
  readFrom(sources: MetricsSources): void;
  readonly contentType: string;
  /** The Prometheus text of every metric. */
  metrics(): Promise<string>;
  /** Every sample name the registry exports (a histogram's `_bucket`, `_sum` and `_count`), gateway's and process's. */
  sampleNames(): Promise<string[]>;
  readonly http: HttpObserver;
  readonly websocket: WebSocketObserver;
  readonly subscriptions: SubscriptionObserver;
  /** Counts a record of a declared topic that did not fit its declaration (gateway_records_rejected_total). */
  recordRejected(field: string, reason: string): void;
  readonly relay: RelayThreadObserver;
  /** Told of each background check of a dependency (reachability.ts). */
  readonly dependencies: DependencyObserver;
}

export interface DependencyObserver {
  checked(dependency: string, up: boolean): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const HTTP_ROUTES: readonly HttpRoute[] = ['graphql', 'explorer', 'metrics', 'healthz', 'readyz', 'other'];
/** The lag series of the groups beyond the labelled ones. Group ids always hold a dot, so none is named this. */
export const OTHER_GROUPS = 'other';
/** A scrape reads the lag for two metrics: computed once for both. */
const LAG_SNAPSHOT_MS = 100;

/** Series per (transport, operation, code), made on first use and kept: labels are bounded by the schema and the codes. */
class OperationSeries {
  readonly #operations: ReadonlySet<string>;
  readonly #series: Record<Transport, Map<string, Map<string, { duration: HistogramSeries; outcome: CounterSeries | undefined }>>> = {
    http: new Map(),
    websocket: new Map(),
    sse: new Map(),
  };

  constructor(
    operations: readonly string[],
    private readonly duration: BoundHistogram,
    private readonly placeOrder: BoundCounter,
  ) {
    this.#operations = new Set(operations);
    for (const code of [OK, ...CLIENT_CODES]) placeOrder.series({ code });
  }

  observe(transport: Transport, operation: string, code: string, seconds: number): void {
    const key = this.#operations.has(operation) ? operation : OTHER_OPERATION;
    const byOperation = this.#series[transport];
    let byCode = byOperation.get(key);
    if (!byCode) {
      byCode = new Map();
      byOperation.set(key, byCode);
    }
    let series = byCode.get(code);
    if (!series) {
      const bounded = code === OK || CLIENT_CODES.has(code) ? code : OTHER_CODE;
      series = {
        duration: this.duration.series({ transport, operation: key, code: bounded }),
        outcome: key === 'placeOrder' ? this.placeOrder.series({ code: bounded }) : undefined,
      };
      byCode.set(code, series);
    }
    series.duration.observe(seconds);
    series.outcome?.inc();
  }
}

/** What idle parts show: the gauges read this until the app's parts are handed over with `readFrom`. */
export const IDLE_SOURCES: MetricsSources = {
  activeSubscriptions: () => 0,
  outboxPending: () => 0,
  relayActive: () => false,
  websocketConnections: () => 0,
  groupLag: () => [],
  reachability: () => new Map(),
};

export function createGatewayMetrics(options: GatewayMetricsOptions): GatewayMetrics {
  // The parts it reads are built after it (they take its observers): they are handed over once they exist.
  let sources = IDLE_SOURCES;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const bound = <M extends BoundCounter | BoundHistogram>(metric: M): M => {
    registry.registerMetric(metric as never);
    return metric;
  };
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });

  // The four gauges from before, names and meaning unchanged.
  gauge('gateway_subscriptions_active', 'Open subscriptions of declared (@topic) fields', () => sources.activeSubscriptions());
  gauge('gateway_outbox_pending', 'Outbox records not yet published, as last seen by the relay', () => sources.outboxPending());
  gauge('gateway_relay_active', '1 while this process is the active outbox relay', () => (sources.relayActive() ? 1 : 0));
  gauge('gateway_websocket_connections', 'Open graphql-ws sockets', () => sources.websocketConnections());

  // Requests and operations.
  const httpDuration = bound(
    new BoundHistogram(
      'gateway_http_request_duration_seconds',
      'HTTP requests by route and status, from arrival to the last byte written',
      LATENCY_BUCKETS,
    ),
  );
  const operations = new OperationSeries(
    options.operations,
    bound(
      new BoundHistogram(
        'gateway_graphql_operation_duration_seconds',
        'GraphQL operations by transport, root field and outcome (first error code, or OK), until answered',
        LATENCY_BUCKETS,
      ),
    ),
    bound(new BoundCounter('gateway_place_order_outcomes_total', 'placeOrder calls by outcome: the error code, or OK')),
  );
  const httpSeries = new Map<HttpRoute, Map<number, HistogramSeries>>(HTTP_ROUTES.map((route) => [route, new Map()]));
  const http: HttpObserver = {
    request(route, status, seconds) {
      const byStatus = httpSeries.get(route);
      let series = byStatus?.get(status);
      if (!series) {
        series = httpDuration.series({ route, status: String(status) });
        byStatus?.set(status, series);
      }
      series.observe(seconds);
    },
    operation: (transport, operation, code, seconds) => operations.observe(transport, operation, code, seconds),
  };

  // Subscriptions and their clients.
  const disconnects = bound(
    new BoundCounter(
      'gateway_slow_client_disconnects_total',
      'Clients cut off for not keeping up: sockets closed after missing a ping (keepalive), ephemeral subscriptions ended with SUBSCRIBER_TOO_SLOW (lagged)',
    ),
  );
  const unresponsive = disconnects.series({ reason: 'keepalive' });
  const lagged = disconnects.series({ reason: 'lagged' });
  const websocket: WebSocketObserver = { operation: http.operation, unresponsiveClosed: () => unresponsive.inc() };

  const delivered = bound(
    new BoundCounter('gateway_events_delivered_total', 'Events of declared topics handed to subscribers, by subscription kind'),
  );
  const deliveredTo: Record<SubscriptionKind, CounterSeries> = {
    durable: delivered.series({ kind: 'durable' }),
    ephemeral: delivered.series({ kind: 'ephemeral' }),
  };
  const open: Record<SubscriptionKind, number> = { durable: 0, ephemeral: 0 };
  new Gauge({
    name: 'gateway_subscriptions_open',
    help: 'Open subscriptions of declared fields by kind (durable: with a subscriberId; ephemeral: without)',
    labelNames: ['kind'],
    registers,
    collect() {
      for (const kind of ['durable', 'ephemeral'] as const) this.set({ kind }, open[kind]);
    },
  });
  const subscriptions: SubscriptionObserver = {
    opened: (kind) => {
      open[kind]++;
    },
    closed: (kind) => {
      open[kind]--;
    },
    delivered: (kind) => deliveredTo[kind].inc(),
    lagged: () => lagged.inc(),
  };

  // Labels bounded by the declared fields and the rejection reasons.
  const rejected = bound(
    new BoundCounter(
      'gateway_records_rejected_total',
      'Records of declared topics skipped because they do not fit the declaration, by Subscription field and reason',
    ),
  );
  // Rare by nature (a producer's mistake), so the series is looked up per record.
  const recordRejected = (field: string, reason: string) => rejected.series({ field, reason }).inc();

  // The outbox and its relay (figures carried over from the relay's thread).
  const publishDuration = bound(
    new BoundHistogram(
      'gateway_relay_publish_duration_seconds',
      "The relay's sends to Kafka, from send to acknowledgement by every in-sync replica",
      LATENCY_BUCKETS,
    ),
  ).series();
  const batchRecords = bound(
    new BoundHistogram('gateway_relay_batch_records', 'Outbox records per send of the relay', BATCH_BUCKETS),
  ).series();
  const publishFailures = bound(
    new BoundCounter('gateway_relay_publish_failures_total', "The relay's sends that failed (their records are sent again)"),
  ).series();
  let oldest: { ageSeconds: number; sampledAt: number } | null = null;
  gauge(
    'gateway_outbox_oldest_pending_age_seconds',
    'Age of the oldest outbox row not yet published, on the active relay (0 when none, and on other processes)',
    () => (oldest ? oldest.ageSeconds + (performance.now() - oldest.sampledAt) / 1000 : 0),
  );
  const relay: RelayThreadObserver = {
    published(records, seconds) {
      publishDuration.observe(seconds);
      batchRecords.observe(records);
    },
    publishFailed: () => publishFailures.inc(),
    oldestPending(ageSeconds) {
      oldest = ageSeconds === null ? null : { ageSeconds, sampledAt: performance.now() };
    },
  };

  // Consumer-group lag, bounded to maxLagGroups labelled series, labelled as METRICS_GROUP_LABELS says.
  const groupLabel: GroupLabeler = options.groupLabel ?? ((groupId) => groupId);
  let lagSnapshot: { at: number; entries: readonly GroupLagEntry[] } | undefined;
  const lagEntries = () => {
    const now = performance.now();
    if (!lagSnapshot || now - lagSnapshot.at > LAG_SNAPSHOT_MS) lagSnapshot = { at: now, entries: sources.groupLag() };
    return lagSnapshot.entries;
  };
  new Gauge({
    name: 'gateway_consumer_group_lag',
    help: `Records a durable subscriber group's committed offsets on a topic are behind that topic's end; the ${options.maxLagGroups} (group, topic) pairs furthest behind are labelled with the group's id, the rest summed per topic under group="${OTHER_GROUPS}"`,
    labelNames: ['group', 'topic'],
    registers,
    collect() {
      this.reset();
      const ranked = [...lagEntries()].sort(
        (a, b) => b.lag - a.lag || (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : a.topic < b.topic ? -1 : 1),
      );
      const rest = new Map<string, number>();
      ranked.forEach(({ groupId, topic, lag }, rank) => {
        const group = rank < options.maxLagGroups ? groupLabel(groupId) : undefined;
        if (group !== undefined) this.set({ group, topic }, lag);
        else rest.set(topic, (rest.get(topic) ?? 0) + lag);
      });
      for (const [topic, lag] of rest) this.set({ group: OTHER_GROUPS, topic }, lag);
    },
  });
  new Gauge({
    name: 'gateway_consumer_group_lag_groups',
    help: 'Durable subscriber groups, one per topic they hold offsets on, whose lag is reported: held by a subscription on this process (connected) or not (disconnected)',
    labelNames: ['state'],
    registers,
    collect() {
      const entries = lagEntries();
      const connected = entries.filter((entry) => entry.connected).length;
      this.set({ state: 'connected' }, connected);
      this.set({ state: 'disconnected' }, entries.length - connected);
    },
  });

  // Durable groups nobody uses: listed, never deleted (an operator decides; Kafka's offsets retention may drop them).
  // A group following several topics is used when any of them is: its latest use over all, connected if any is.
  const idleEntries = () => {
    const idleBefore = Date.now() - (options.durableGroupIdleMs ?? 2_592_000_000);
    const groups = new Map<string, { groupId: string; lastUsedAt: number | undefined; connected: boolean }>();
    for (const { groupId, connected, lastUsedAt } of lagEntries()) {
      const known = groups.get(groupId);
      if (!known) groups.set(groupId, { groupId, lastUsedAt, connected });
      else {
        known.connected ||= connected;
        known.lastUsedAt = Math.max(known.lastUsedAt ?? 0, lastUsedAt ?? 0) || undefined;
      }
    }
    return [...groups.values()].filter((group) => !group.connected && group.lastUsedAt !== undefined && group.lastUsedAt < idleBefore);
  };
  new Gauge({
    name: 'gateway_idle_durable_groups',
    help: 'Durable subscriber groups that no subscription has used (committed) for DURABLE_GROUP_IDLE_MS; the gateway keeps them, an operator may delete them',
    registers,
    collect() {
      this.set(idleEntries().length);
    },
  });
  new Gauge({
    name: 'gateway_idle_durable_group_last_used_seconds',
    help: `When an idle durable group was last used (Unix time); the ${options.maxLagGroups} idle longest are listed`,
    labelNames: ['group'],
    registers,
    collect() {
      this.reset();
      const oldestFirst = idleEntries().sort((a, b) => (a.lastUsedAt ?? 0) - (b.lastUsedAt ?? 0));
      for (const { groupId, lastUsedAt } of oldestFirst.slice(0, options.maxLagGroups)) {
        const group = groupLabel(groupId);
        if (group !== undefined) this.set({ group }, Math.floor((lastUsedAt ?? 0) / 1000));
      }
    },
  });

  // Dependencies.
  new Gauge({
    name: 'gateway_dependency_up',
    help: 'Whether a dependency answered its last probe (1) or not (0), probed every READINESS_REFRESH_MS',
    labelNames: ['dependency'],
    registers,
    collect() {
      for (const [dependency, up] of sources.reachability()) this.set({ dependency }, up ? 1 : 0);
    },
  });
  const checks = bound(
    new BoundCounter(
      'gateway_readiness_checks_total',
      'Background checks of each dependency by result (up, down): they follow READINESS_REFRESH_MS, never the number of /readyz requests',
    ),
  );
  // Labels bounded by the app's dependencies (postgres, kafka).
  const checkSeries = new Map<string, CounterSeries>();
  const dependencies: DependencyObserver = {
    checked(dependency, up) {
      const result = up ? 'up' : 'down';
      const key = `${dependency}\0${result}`;
      let series = checkSeries.get(key);
      if (!series) {
        series = checks.series({ dependency, result });
        checkSeries.set(key, series);
      }
      series.inc();
    },
  };

  return {
    readFrom(parts) {
      sources = parts;
    },
    contentType: registry.contentType,
    metrics: () => registry.metrics(),
    async sampleNames() {
      const metrics = await registry.getMetricsAsJSON();
      return metrics.flatMap(({ name, type }) =>
        String(type) === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
      );
    },
    http,
    websocket,
    subscriptions,
    recordRejected,
    relay,
    dependencies,
  };
}
