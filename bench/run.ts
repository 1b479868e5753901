/**
 * The benchmark suite: `npm run bench [-- --quick] [-- --only name,name]`. Builds nothing itself (the npm script
 * builds first), starts its own built gateway processes on the real broker and database, sends traffic only to
 * 127.0.0.1, prints a table per scenario, and writes the run to bench/results/ as JSON and Markdown.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ADMIN_DATABASE_URL, assertLoopback, gitCommit, KAFKA_BROKERS, kafkaProblem, machine } from './lib/environment.js';
import { createProgress } from './lib/progress.js';
import { machineLine, type RunRecord, type ScenarioResult, tableToText, writeRunRecord } from './lib/results.js';
import type { Scenario } from './lib/scenario.js';
import { endToEndLatency } from './scenarios/end-to-end-latency.js';
import { mutationThroughput } from './scenarios/mutation-throughput.js';
import { relayDrain } from './scenarios/relay-drain.js';
import { subscriberScale } from './scenarios/subscriber-scale.js';

const SCENARIOS: Scenario[] = [mutationThroughput, endToEndLatency, relayDrain, subscriberScale];
const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'no-write': { type: 'boolean', default: false } },
  });
  const wanted = values.only?.split(',').map((s) => s.trim()) ?? SCENARIOS.map((s) => s.name);
  const unknown = wanted.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown scenario ${unknown.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}\n`);
    return 2;
  }
  assertLoopback('KAFKA_BROKERS', KAFKA_BROKERS);
  assertLoopback('DATABASE_URL', new URL(ADMIN_DATABASE_URL).host);
  const problem = await kafkaProblem();
  if (problem) {
    process.stderr.write(`bench: ${problem}\n`);
    return 2;
  }

  const started = Date.now();
  const progress = createProgress(process.stderr, started);
  const host = machine();
  process.stderr.write(`bench: ${values.quick ? 'quick run' : 'full run'} on ${machineLine(host)}\n`);
  const results: ScenarioResult[] = [];
  let failed = false;
  for (const scenario of SCENARIOS.filter((s) => wanted.includes(s.name))) {
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      const result = await scenario.run({ quick: values.quick, progress, defer: (step) => cleanups.push(step) });
      progress.done(`${scenario.name}: done`);
      results.push(result);
      console.log(`\n== ${result.title}`);
      for (const table of result.tables) console.log(`\n${tableToText(table)}`);
      for (const note of result.notes) console.log(`  * ${note}`);
      console.log('');
    } catch (error) {
      failed = true;
      progress.done(`${scenario.name}: failed`);
      console.error(error);
    } finally {
      for (const step of cleanups.reverse()) await step().catch((error: unknown) => console.error('bench: clean-up failed:', error));
    }
  }

  const record: RunRecord = {
    date: new Date(started).toISOString(),
    commit: gitCommit(),
    quick: values.quick,
    machine: host,
    durationSeconds: (Date.now() - started) / 1000,
    scenarios: results,
  };
  if (!values['no-write'] && results.length > 0) {
    const written = writeRunRecord(RESULTS_DIR, record);
    process.stderr.write(`bench: wrote ${written.json} and ${written.markdown} (${Math.round(record.durationSeconds)} s)\n`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
