import { logLevel } from 'kafkajs';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { kafkaLogCreator, REPEAT_WINDOW_MS } from '../../src/adapters/kafka/kafka-logger.js';

function capture() {
  const lines: string[] = [];
  const logger = pino({ level: 'trace', base: { service: 'gateway' } }, { write: (line: string) => lines.push(line) });
  return { lines, logger: logger.child({ component: 'kafka' }) };
}

const entry = (level: logLevel, message: string) => ({
  namespace: 'Connection',
  level,
  label: logLevel[level],
  log: { timestamp: '2026-01-01T00:00:00.000Z', logger: 'kafkajs', message, broker: '127.0.0.1:9092', retryCount: 2 },
});

describe('kafkajs log lines in pino', () => {
  it('should write one JSON object per line with no repeated key, kafkajs fields kept and its own timestamp dropped', () => {
    const { lines, logger } = capture();
    kafkaLogCreator(logger)(logLevel.ERROR)(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED'));
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    for (const key of ['component', 'msg', 'level', 'time']) expect(line.split(`"${key}":`)).toHaveLength(2);
    expect(JSON.parse(line)).toMatchObject({
      level: 50,
      component: 'kafka',
      kafkajs: 'Connection',
      broker: '127.0.0.1:9092',
      retryCount: 2,
      msg: 'Connection error: connect ECONNREFUSED',
    });
    expect(line).not.toContain('"timestamp"');
    expect(line).not.toContain('"logger"');
  });

  it('should write a repeated line once per window, then say how many it left out', () => {
    const { lines, logger } = capture();
    let clock = 0;
    const log = kafkaLogCreator(logger, () => clock)(logLevel.ERROR);
    for (let i = 0; i < 5; i++) log(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED'));
    log(entry(logLevel.ERROR, 'another message'));
    expect(lines).toHaveLength(2);
    clock += REPEAT_WINDOW_MS;
    log(entry(logLevel.ERROR, 'Connection error: connect ECONNREFUSED'));
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2]!)).toMatchObject({ msg: 'Connection error: connect ECONNREFUSED', repeated: 4 });
  });

  it('should map kafkajs levels to pino levels, INFO down to debug', () => {
    const { lines, logger } = capture();
    const log = kafkaLogCreator(logger)(logLevel.DEBUG);
    for (const level of [logLevel.ERROR, logLevel.WARN, logLevel.INFO, logLevel.DEBUG]) log(entry(level, 'x'));
    expect(lines.map((l) => (JSON.parse(l) as { level: number }).level)).toEqual([50, 40, 20, 10]);
  });
});
