/** The live terminal view: one frame a second, plain ANSI. */
import type { SystemName } from './systems.js';

export interface SystemRow {
  name: SystemName;
  key: string;
  running: boolean;
  distinct: number;
  delivered: number;
  expected: number;
  missing: number;
  lag: number | undefined;
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

const status = (row: SystemRow) => {
  if (!row.running) return '\u001b[33mSTOPPED\u001b[0m';
  if (row.missing === 0 && row.lag === 0) return '\u001b[32min step\u001b[0m';
  return `\u001b[33mcatching up\u001b[0m (${row.missing} missing)`;
};

export function renderFrame(frame: Frame): string {
  const lines = [
    `\u001b[1mgraphql-kafka-gateway demo\u001b[0m  gateway ${frame.gatewayUrl}  up ${frame.elapsedSeconds}s  Kafka: ${frame.kafka}`,
    `producer: ${frame.perSecond} orders settled/s, ${frame.settled} settled, ${frame.refused} refused (never published)`,
    '',
    `${pad('key system', 16)}${pad('events seen', 20)}${pad('lag', 6)}${pad('last event', 14)}${pad('own figure', 56)}state`,
  ];
  for (const row of frame.rows) {
    const seen = `${row.distinct}/${row.expected}${row.delivered > row.distinct ? ` +${row.delivered - row.distinct}rep` : ''}`;
    const last = row.lastEventAt ? row.lastEventAt.slice(11, 19) : '-';
    lines.push(
      `${pad(`${row.key}   ${row.name}`, 16)}${pad(seen, 20)}${pad(row.lag === undefined ? '?' : String(row.lag), 6)}${pad(last, 14)}${pad(row.figure, 56)}${status(row)}`,
    );
  }
  lines.push('', 'events seen = distinct events of this run / orders settled this run for it (+ repeats dropped by eventId)');
  if (frame.interactive) lines.push('keys: 1-4 stop/start a system   k pause Kafka 5 s   q quit');
  lines.push('', ...frame.notes.slice(-6));
  return `\u001b[H\u001b[2J${lines.join('\n')}\n`;
}

/** One line a second, for a terminal that is not a TTY. */
export function renderLine(frame: Frame): string {
  const parts = frame.rows.map((r) => `${r.name} ${r.distinct}/${r.expected} lag ${r.lag ?? '?'}${r.running ? '' : ' STOPPED'}`);
  return `demo ${frame.elapsedSeconds}s: ${frame.perSecond}/s settled ${frame.settled} refused ${frame.refused} kafka ${frame.kafka} | ${parts.join(' | ')}\n`;
}
