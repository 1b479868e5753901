import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The record of a run: every figure with its unit, the machine, the commit and the date. Rendering is pure. */

export interface Column {
  key: string;
  label: string;
  /** The unit of every figure in the column; omitted for text columns. */
  unit?: string;
}

export type Cell = string | number | null;

/** The columns of a latency summary (stats.ts `summarize`), in ms: p50, p95, p99 and max unless fewer are asked for. */
export const latencyColumns = (keys: readonly ('p50' | 'p95' | 'p99' | 'max')[] = ['p50', 'p95', 'p99', 'max']): Column[] =>
  keys.map((key) => ({ key, label: key, unit: 'ms' }));

export interface ResultTable {
  title: string;
  columns: Column[];
  rows: Record<string, Cell>[];
}

export interface ScenarioResult {
  name: string;
  title: string;
  tables: ResultTable[];
  /** What a reader must know to read the figures (how a baseline was taken, where a ramp stopped). */
  notes: string[];
}

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
}

export interface RunRecord {
  date: string;
  commit: string;
  quick: boolean;
  machine: Machine;
  durationSeconds: number;
  scenarios: ScenarioResult[];
}

export interface Figure {
  scenario: string;
  table: string;
  row: string;
  metric: string;
  value: number;
  unit: string;
}

/** Every number of the run, one per line, with its unit: the form a script compares between runs. */
export function figuresOf(record: RunRecord): Figure[] {
  const figures: Figure[] = [];
  for (const scenario of record.scenarios) {
    for (const table of scenario.tables) {
      const label = table.columns.find((c) => c.unit === undefined);
      for (const row of table.rows) {
        const rowName = label ? String(row[label.key] ?? '') : '';
        for (const column of table.columns) {
          const value = row[column.key];
          if (column.unit === undefined || typeof value !== 'number' || !Number.isFinite(value)) continue;
          figures.push({ scenario: scenario.name, table: table.title, row: rowName, metric: column.label, value, unit: column.unit });
        }
      }
    }
  }
  return figures;
}

export function formatCell(value: Cell | undefined): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return '-';
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
  }
  return value;
}

const header = (c: Column) => (c.unit && c.unit !== c.label ? `${c.label} (${c.unit})` : c.label);
const escapePipes = (text: string) => text.replaceAll('|', '\\|');

export function tableToMarkdown(table: ResultTable): string {
  const lines = [
    `| ${table.columns.map((c) => escapePipes(header(c))).join(' | ')} |`,
    `| ${table.columns.map(() => '---').join(' | ')} |`,
    ...table.rows.map((row) => `| ${table.columns.map((c) => escapePipes(formatCell(row[c.key]))).join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** A fixed-width table for the terminal. */
export function tableToText(table: ResultTable): string {
  const cells = [table.columns.map(header), ...table.rows.map((row) => table.columns.map((c) => formatCell(row[c.key])))];
  const widths = table.columns.map((_, i) => Math.max(...cells.map((line) => (line[i] ?? '').length)));
  const render = (line: string[]) =>
    line.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [table.title, render(cells[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(render)].join('\n');
}

const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;

export function machineLine(machine: Machine): string {
  return `${machine.cores} cores (${machine.cpuModel}), ${gib(machine.memoryBytes)} memory, Node.js ${machine.node}, ${machine.platform}`;
}

export function recordToMarkdown(record: RunRecord): string {
  const parts = [
    `# Benchmark run ${record.date}${record.quick ? ' (--quick)' : ''}`,
    '',
    `- commit: \`${record.commit}\``,
    `- machine: ${machineLine(record.machine)}`,
    `- duration: ${Math.round(record.durationSeconds)} s`,
    '- PostgreSQL, Kafka, the gateway and the load generator share the machine; figures vary with what else runs on it.',
  ];
  for (const scenario of record.scenarios) {
    parts.push('', `## ${scenario.title}`);
    for (const table of scenario.tables) parts.push('', `### ${table.title}`, '', tableToMarkdown(table));
    if (scenario.notes.length > 0) parts.push('', ...scenario.notes.map((n) => `- ${n}`));
  }
  return `${parts.join('\n')}\n`;
}

/** The file name stem of a run: its date, readable and sortable, and whether it was quick. */
export const resultStem = (record: RunRecord): string =>
  `${record.date.replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z')}${record.quick ? '-quick' : ''}`;

/** Writes `<stem>.json` and `<stem>.md` into `directory`; returns their paths. */
export function writeRunRecord(directory: string, record: RunRecord): { json: string; markdown: string } {
  mkdirSync(directory, { recursive: true });
  const stem = resultStem(record);
  const json = join(directory, `${stem}.json`);
  const markdown = join(directory, `${stem}.md`);
  writeFileSync(json, `${JSON.stringify({ ...record, figures: figuresOf(record) }, null, 2)}\n`);
  writeFileSync(markdown, recordToMarkdown(record));
  return { json, markdown };
}
