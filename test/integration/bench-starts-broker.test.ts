import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { brokerAnswers } from '../../scripts/kafka/broker-answers.js';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { processAlive as alive, collectOutput } from '../support/local-processes.js';
import { privatePort } from '../support/private-ports.js';
import { waitFor } from '../support/resources.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** A port of this file's own: the bench must start its broker there, never touch the shared one on 9092. */
const KAFKA_PORT = privatePort('benchStartsBroker');

const cleanups = cleanupList();
afterAll(() => cleanups.run());

/**
 * `npm run bench -- --smoke --kafka-port N` without the npm script's build (the smoke gateway runs from source), so
 * a half-edited tree elsewhere cannot fail it.
 */
function startBench(): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--smoke', '--kafka-port', String(KAFKA_PORT)], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: inject('adminDatabaseUrl') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  return { child, output: output.both, exited };
}

const startedPid = (output: string): number => Number(/started a Kafka broker on 127\.0\.0\.1:\d+ \(pid (\d+)\)/.exec(output)?.[1]);

describe('npm run bench with no broker on its port', () => {
  cleanups.push(
    // A broker a failed test left behind, then the broker's data: the next run formats a fresh one.
    () =>
      new Promise((resolve) => spawn('bash', ['scripts/kafka/kafka.sh', 'stop', String(KAFKA_PORT)], { cwd: root }).once('exit', resolve)),
    () => rmSync(`${root}/.cache/kafka-run/${KAFKA_PORT}`, { recursive: true, force: true }),
  );

  it('should start a broker, run, stop that broker and exit 0', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    expect(await brokerAnswers(KAFKA_PORT)).toBe(false);
    const bench = startBench();
    const code = await bench.exited;
    expect(code, bench.output()).toBe(0);
    expect(bench.output()).toContain(`no broker answers on 127.0.0.1:${KAFKA_PORT}: starting one`);
    expect(bench.output()).toMatch(/placeOrder response -> event\s+20\s/);
    // The bench's own SDL (bench/lib/second-topic.graphql) is served: its records reach the subscriber.
    expect(bench.output()).toMatch(/benchReading: producer ack -> event\s+20\s/);
    const pid = startedPid(bench.output());
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
    expect(await brokerAnswers(KAFKA_PORT)).toBe(false);
    // The shared broker is untouched.
    expect(await brokerAnswers(Number(inject('kafkaBrokers').split(':').at(-1)))).toBe(true);
  });

  it('should stop the broker it started when it gets SIGTERM', { timeout: PROCESS_TEST_TIMEOUT_MS }, async () => {
    const bench = startBench();
    const pid = await waitFor('the bench to start its broker', () => startedPid(bench.output()) || undefined, 180_000);
    bench.child.kill('SIGTERM');
    const code = await bench.exited;
    expect(code, bench.output()).toBe(130);
    expect(bench.output()).toContain('SIGTERM: stopping what this run started');
    expect(alive(pid)).toBe(false);
    expect(await brokerAnswers(KAFKA_PORT)).toBe(false);
  });
});
