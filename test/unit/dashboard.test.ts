import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metricsWith } from '../support/metrics.js';

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly uid?: string };
  readonly targets?: readonly { readonly expr: string; readonly datasource?: { readonly uid?: string } }[];
  readonly panels?: readonly Panel[];
}

interface Dashboard {
  readonly panels: readonly Panel[];
  readonly templating: {
    readonly list: readonly { readonly name: string; readonly type: string; readonly query?: unknown; readonly definition?: string }[];
  };
}

const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/gateway-dashboard.json', import.meta.url), 'utf8')) as Dashboard;
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== 'row');
const expressions = [
  ...panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
  ...dashboard.templating.list.flatMap((variable) => (variable.definition ? [variable.definition] : [])),
];
const referenced = new Set(expressions.flatMap((expression) => expression.match(/\bgateway_\w+/g) ?? []));

/** What the gateway's registry exports, as the app creates it. */
async function exportedSampleNames(): Promise<string[]> {
  const metrics = metricsWith();
  return (await metrics.sampleNames()).filter((name) => name.startsWith('gateway_'));
}

describe('ops/grafana/gateway-dashboard.json', () => {
  it('should query only metric names the gateway exports', async () => {
    const exported = new Set(await exportedSampleNames());
    expect(referenced.size).toBeGreaterThan(0);
    expect([...referenced].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('should have a panel for every metric the gateway exports', async () => {
    const exported = await exportedSampleNames();
    // A histogram is shown through any of its samples (_bucket, _sum, _count).
    const familyOf = (name: string) => {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      return exported.includes(`${base}_bucket`) ? base : name;
    };
    const shown = new Set([...referenced].map(familyOf));
    expect([...new Set(exported.map(familyOf))].filter((family) => !shown.has(family))).toEqual([]);
  });

  it('should read every panel from the Prometheus datasource variable', () => {
    expect(dashboard.templating.list).toContainEqual(
      expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }),
    );
    // Grafana's reference to the variable, not a template string.
    const variable = ['$', '{datasource}'].join('');
    for (const panel of panels) {
      expect(panel.datasource?.uid, panel.title).toBe(variable);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe(variable);
    }
  });
});
