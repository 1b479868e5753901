import { buildGatewaySchema } from '../../src/graphql/schema.js';
import { createGatewayMetrics, IDLE_SOURCES, type MetricsSources } from '../../src/observability/metrics-registry.js';
import { rootFieldNames } from '../../src/transport/operation-metrics.js';

/** One sample of the Prometheus text format. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text format (what GET /metrics serves). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match?.[1] || match[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) if (name) labels[name] = value ?? '';
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the sample with this name and at least these labels; undefined when there is none. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))?.value;
}

/** GET /metrics, parsed; `bearer` for a gateway with METRICS_TOKEN. */
export async function scrape(url: string, bearer?: string): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`, bearer === undefined ? {} : { headers: { authorization: `Bearer ${bearer}` } });
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** The gateway's metrics as the app creates them, with idle sources unless `sources` says otherwise. */
export function metricsWith(sources: Partial<MetricsSources> = {}, maxLagGroups = 100) {
  const metrics = createGatewayMetrics({ operations: rootFieldNames(buildGatewaySchema()), maxLagGroups });
  metrics.readFrom({ ...IDLE_SOURCES, ...sources });
  return metrics;
}
