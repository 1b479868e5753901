import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  figuresOf,
  formatCell,
  type RunRecord,
  recordToMarkdown,
  resultStem,
  tableToText,
  writeRunRecord,
} from '../../bench/lib/results.js';

const record: RunRecord = {
  date: '2026-12-03T11:00:00.123Z',
  commit: 'abc123',
  quick: true,
  machine: { cores: 2, cpuModel: 'AMD EPYC', memoryBytes: 24 * 2 ** 30, node: '20.20.2', platform: 'linux x64' },
  durationSeconds: 61.5,
  scenarios: [
    {
      name: 'mutation-throughput',
      title: 'placeOrder throughput',
      notes: ['baselines in the same run'],
      tables: [
        {
          title: 'closed loop',
          columns: [
            { key: 'what', label: 'what' },
            { key: 'rate', label: 'throughput', unit: 'orders/s' },
            { key: 'cpu', label: 'CPU per order', unit: 'ms' },
          ],
          rows: [
            { what: 'gateway | placeOrder', rate: 1000, cpu: 0.512345 },
            { what: 'bare SQL', rate: 1500, cpu: null },
          ],
        },
      ],
    },
  ],
};

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('benchmark result files', () => {
  it('should list every number with its unit, and skip empty cells', () => {
    expect(figuresOf(record)).toEqual([
      {
        scenario: 'mutation-throughput',
        table: 'closed loop',
        row: 'gateway | placeOrder',
        metric: 'throughput',
        value: 1000,
        unit: 'orders/s',
      },
      {
        scenario: 'mutation-throughput',
        table: 'closed loop',
        row: 'gateway | placeOrder',
        metric: 'CPU per order',
        value: 0.512345,
        unit: 'ms',
      },
      { scenario: 'mutation-throughput', table: 'closed loop', row: 'bare SQL', metric: 'throughput', value: 1500, unit: 'orders/s' },
    ]);
  });

  it('should render Markdown with the machine, commit, units in the headers and escaped pipes', () => {
    const markdown = recordToMarkdown(record);
    expect(markdown).toContain('- commit: `abc123`');
    expect(markdown).toContain('2 cores (AMD EPYC), 24.0 GiB memory');
    expect(markdown).toContain('| what | throughput (orders/s) | CPU per order (ms) |');
    expect(markdown).toContain('| gateway \\| placeOrder | 1000 | 0.512 |');
    expect(markdown).toContain('| bare SQL | 1500 | - |');
    expect(markdown).toContain('- baselines in the same run');
  });

  it('should render a text table with aligned columns', () => {
    const lines = tableToText(record.scenarios[0]!.tables[0]!).split('\n');
    expect(lines[0]).toBe('closed loop');
    expect(new Set(lines.slice(1).map((l) => l.length)).size).toBe(1);
    expect(formatCell(Number.NaN)).toBe('-');
  });

  it('should write JSON and Markdown named after the date, the JSON holding the figures', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-results-'));
    dirs.push(dir);
    expect(resultStem(record)).toBe('2026-12-03T11-00-00Z-quick');
    const written = writeRunRecord(dir, record);
    const json = JSON.parse(readFileSync(written.json, 'utf8')) as RunRecord & { figures: unknown[] };
    expect(json.commit).toBe('abc123');
    expect(json.machine.cores).toBe(2);
    expect(json.figures).toHaveLength(3);
    expect(readFileSync(written.markdown, 'utf8')).toBe(recordToMarkdown(record));
  });
});
