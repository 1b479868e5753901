/** The live terminal view: one frame a second, plain ANSI. */
import { type Lag, lagText, type SystemState, stateText } from './system-state.js';
import type { SystemName } from './systems.js';

export interface SystemRow {
  name: SystemName;
  key: string;
  running: boolean;
  distinct: number;
  delivered: number;
  expected: number;
  missing: number;
  lag: Lag;
  state: SystemState;
  lastEventAt: string | null;
  figure: string;
}

export interface Frame {
  gatewayUrl: string;
  elapsedSeconds: number;
  perSecond: number;
  settled: number;
  refused: number;
  kafka: string;
  rows: SystemRow[];
  notes: string[];
  interactive: boolean;
}

const pad = (text: string, width: number) => (text.length >= width ? text.slice(0, width) : text + ' '.repeat(width - text.length));

/** In step in green, anything else in yellow. */
const status = (row: SystemRow) => `\u001b[${row.state.kind === 'in step' ? 32 : 33}m${stateText(row.state)}\u001b[0m`;

export function renderFrame(frame: Frame): string {
  const lines = [
    `\u001b[1mgraphql-kafka-gateway demo\u001b[0m  gateway ${frame.gatewayUrl}  up ${frame.elapsedSeconds}s  Kafka: ${frame.kafka}`,
    `producer: ${frame.perSecond} orders settled/s, ${frame.settled} settled, ${frame.refused} refused (never published)`,
    '',
    `${pad('key system', 16)}${pad('events seen', 20)}${pad('lag', 16)}${pad('last event', 14)}${pad('own figure', 56)}state`,
  ];
  for (const row of frame.rows) {
    const seen = `${row.distinct}/${row.expected}${row.delivered > row.distinct ? ` +${row.delivered - row.distinct}rep` : ''}`;
    const last = row.lastEventAt ? row.lastEventAt.slice(11, 19) : '-';
    lines.push(
      `${pad(`${row.key}   ${row.name}`, 16)}${pad(seen, 20)}${pad(lagText(row.lag), 16)}${pad(last, 14)}${pad(row.figure, 56)}${status(row)}`,
    );
  }
  lines.push(
    '',
    'events seen = distinct events of this run / orders settled this run for it, and for notify their top-ups too (+ repeats dropped by eventId)',
  );
  if (frame.interactive) lines.push(`keys: 1-${frame.rows.length} stop/start a system   k pause Kafka 5 s   q quit`);
  lines.push('', ...frame.notes.slice(-6));
  return `\u001b[H\u001b[2J${lines.join('\n')}\n`;
}

/** One line a second, for a terminal that is not a TTY. */
export function renderLine(frame: Frame): string {
  // "no offsets yet" is both the lag and the state: said once.
  const parts = frame.rows.map(
    (r) =>
      `${r.name} ${r.distinct}/${r.expected} lag ${lagText(r.lag)}${r.state.kind === 'no offsets yet' ? '' : ` ${stateText(r.state)}`}`,
  );
  return `demo ${frame.elapsedSeconds}s: ${frame.perSecond}/s settled ${frame.settled} refused ${frame.refused} kafka ${frame.kafka} | ${parts.join(' | ')}\n`;
}
