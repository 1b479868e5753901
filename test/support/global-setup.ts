import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { localPostgres } from '../../scripts/local-postgres.js';
import { chromiumExecutable } from './chromium-executable.js';
import { ensureKafkaToolJars } from './kafka-tools.js';
import { brokerAnswers, LOCAL_KAFKA_SCRIPT } from './local-kafka.js';

const run = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    adminDatabaseUrl: string;
  }
}

/**
 * Kafka and PostgreSQL for the integration tests: KAFKA_BROKERS / TEST_DATABASE_URL or
 * DATABASE_URL when set; otherwise the local broker (started here, and stopped afterwards
 * only if this run started it) and the PostgreSQL server on LOCAL_POSTGRES_ADDRESS
 * (127.0.0.1:5432), or, when none answers, the embedded one (stopped afterwards if started here).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardown: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const step of teardown.splice(0).reverse()) await step();
  };
  try {
    // Found (or unpacked) once here, so a machine without a browser fails now, in one line, not in the explorer tests.
    const browser = await chromiumExecutable();
    console.log(`global-setup: browser: ${browser.path} (${browser.source})`);
    const configured = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL;
    if (configured) {
      project.provide('adminDatabaseUrl', configured);
    } else {
      const say = (line: string) => console.log(`global-setup: ${line}`);
      const local = await localPostgres({ root, env: process.env, urlVariable: 'TEST_DATABASE_URL or DATABASE_URL', say });
      teardown.push(() => local.stop());
      say(`database: ${local.description}`);
      project.provide('adminDatabaseUrl', local.url('postgres'));
    }
    // Tests run Kafka's own tools from these jars, whichever broker they talk to.
    await ensureKafkaToolJars();
    if (process.env.KAFKA_BROKERS) {
      project.provide('kafkaBrokers', process.env.KAFKA_BROKERS);
      return stopAll;
    }
    project.provide('kafkaBrokers', '127.0.0.1:9092');
    if (await brokerAnswers(9092)) return stopAll;
    console.log('global-setup: starting the local Kafka broker on 127.0.0.1:9092');
    await run('bash', [LOCAL_KAFKA_SCRIPT, 'start', '9092'], { timeout: 180_000 });
    teardown.push(async () => {
      await run('bash', [LOCAL_KAFKA_SCRIPT, 'stop', '9092'], { timeout: 60_000 });
    });
    return stopAll;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

const root = fileURLToPath(new URL('../..', import.meta.url));
