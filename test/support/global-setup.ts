import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { brokerAnswers, LOCAL_KAFKA_SCRIPT } from './local-kafka.js';

const run = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    adminDatabaseUrl: string;
  }
}

/**
 * Kafka and PostgreSQL for the integration tests: KAFKA_BROKERS / DATABASE_URL
 * when set; otherwise the local broker (started here, and stopped afterwards
 * only if this run started it) and the local PostgreSQL server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const adminDatabaseUrl = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  project.provide('adminDatabaseUrl', adminDatabaseUrl);
  if (process.env.KAFKA_BROKERS) {
    project.provide('kafkaBrokers', process.env.KAFKA_BROKERS);
    return async () => {};
  }
  project.provide('kafkaBrokers', '127.0.0.1:9092');
  if (await brokerAnswers(9092)) return async () => {};
  console.log('global-setup: starting the local Kafka broker on 127.0.0.1:9092');
  await run('bash', [LOCAL_KAFKA_SCRIPT, 'start', '9092'], { timeout: 180_000 });
  return async () => {
    await run('bash', [LOCAL_KAFKA_SCRIPT, 'stop', '9092'], { timeout: 60_000 });
  };
}
