/**
 * The benchmark suite: `npm run bench [-- --quick] [-- --only name,name] [-- --kafka-port N] [-- --smoke]`. Finds or
 * starts what it stands on as `npm run dev` does (bench-environment.ts: the database, one local broker), starts its
 * own built gateway processes, sends traffic only to 127.0.0.1, prints a table per scenario, writes the run to
 * bench/results/ as JSON and Markdown, and stops what it started, at the end or on Ctrl-C/SIGTERM.
 * `--smoke` runs only the smoke scenario (a gateway from source, no build needed, under a minute) and writes nothing.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runScript, ScriptFailure } from '../scripts/fail-in-one-line.js';
import { startBenchEnvironment } from './lib/bench-environment.js';
import { gitCommit, loadNote, machine } from './lib/environment.js';
import { createProgress } from './lib/progress.js';
import { machineLine, type RunRecord, type ScenarioResult, tableToText, writeRunRecord } from './lib/results.js';
import type { Scenario } from './lib/scenario.js';
import { durableCommits } from './scenarios/durable-commits.js';
import { endToEndLatency } from './scenarios/end-to-end-latency.js';
import { mutationThroughput } from './scenarios/mutation-throughput.js';
import { relayDrain } from './scenarios/relay-drain.js';
import { smoke } from './scenarios/smoke.js';
import { subscriberScale } from './scenarios/subscriber-scale.js';
import { transports } from './scenarios/transports.js';

const SCENARIOS: Scenario[] = [mutationThroughput, endToEndLatency, relayDrain, subscriberScale, transports, durableCommits];
const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url));

function parseOptions() {
  try {
    return parseArgs({
      options: {
        quick: { type: 'boolean', default: false },
        smoke: { type: 'boolean', default: false },
        only: { type: 'string' },
        'kafka-port': { type: 'string' },
        'no-write': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    throw new ScriptFailure(`${(error as Error).message}; see the top of bench/run.ts for the options`, 2);
  }
}

function kafkaPortOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65534) throw new ScriptFailure(`--kafka-port must be a port number (got "${raw}")`, 2);
  return port;
}

async function main(): Promise<number> {
  const values = parseOptions();
  const wanted = values.smoke ? [smoke.name] : (values.only?.split(',').map((s) => s.trim()) ?? SCENARIOS.map((s) => s.name));
  const known = [...SCENARIOS, smoke];
  const unknown = wanted.filter((name) => !known.some((s) => s.name === name));
  if (unknown.length > 0)
    throw new ScriptFailure(`unknown scenario ${unknown.join(', ')}; known: ${known.map((s) => s.name).join(', ')}`, 2);
  const kafkaPort = kafkaPortOf(values['kafka-port']);
  const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

  // A signal stops the scenario's children and what the environment started, then ends the run: nothing outlives it.
  let cleanups: (() => Promise<unknown>)[] = [];
  let stopEnvironment: () => Promise<void> = async () => {};
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    say(`${signal}: stopping what this run started`);
    const steps = cleanups.reverse();
    cleanups = [];
    void (async () => {
      for (const step of steps) await step().catch(() => {});
      await stopEnvironment();
      process.exit(130);
    })();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const environment = await startBenchEnvironment({
    kafkaPort,
    env: process.env,
    say,
    onStop: (stop) => {
      stopEnvironment = stop;
    },
  });
  try {
    const started = Date.now();
    const progress = createProgress(process.stderr, started);
    const host = machine();
    say(`${values.smoke ? 'smoke run' : values.quick ? 'quick run' : 'full run'} on ${machineLine(host)}`);
    const results: ScenarioResult[] = [];
    let failed = false;
    for (const scenario of known.filter((s) => wanted.includes(s.name))) {
      const context = {
        quick: values.quick || values.smoke,
        brokers: environment.brokers,
        adminDatabaseUrl: environment.adminDatabaseUrl,
        progress,
        defer: (step: () => Promise<unknown>) => void cleanups.push(step),
      };
      const loadBefore = loadNote('when the scenario started');
      try {
        const figures = await scenario.run(context);
        progress.done(`${scenario.name}: done`);
        const result: ScenarioResult = {
          name: scenario.name,
          title: scenario.title,
          tables: figures.tables,
          notes: [loadBefore, loadNote('when it ended'), ...figures.notes],
        };
        results.push(result);
        console.log(`\n== ${result.title}`);
        for (const table of result.tables) console.log(`\n${tableToText(table)}`);
        for (const note of result.notes) console.log(`  * ${note}`);
        console.log('');
      } catch (error) {
        failed = true;
        progress.done(`${scenario.name}: failed`);
        if (values.verbose) console.error(error);
        else say(`${scenario.name} failed: ${(error as Error).message?.split('\n')[0] ?? String(error)} (--verbose for the stack)`);
      } finally {
        const steps = cleanups.reverse();
        cleanups = [];
        for (const step of steps) await step().catch((error: unknown) => say(`clean-up failed: ${(error as Error).message}`));
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
    if (!values['no-write'] && !values.smoke && results.length > 0) {
      const written = writeRunRecord(RESULTS_DIR, record);
      say(`wrote ${written.json} and ${written.markdown} (${Math.round(record.durationSeconds)} s)`);
    }
    return interrupted ? 130 : failed ? 1 : 0;
  } finally {
    await environment.stop();
  }
}

runScript('bench', main);
