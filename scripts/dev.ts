/**
 * npm run dev: everything a newcomer needs on a fresh clone after `npm ci`.
 * Starts the local Kafka broker unless KAFKA_BROKERS is set or one answers,
 * creates the local database if missing, and runs the gateway in development
 * mode (it applies migrations and creates the topic itself). Ctrl-C stops what
 * this script started.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { brokerAnswers } from './kafka/broker-answers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const kafkaScript = fileURLToPath(new URL('./kafka/kafka.sh', import.meta.url));
const say = (line: string) => process.stdout.write(`dev: ${line}\n`);

async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    const found = await sql`select 1 from pg_database where datname = ${name}`;
    if (found.length === 0) {
      await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
      say(`created database ${name}`);
    }
  } finally {
    await sql.end();
  }
}

async function main(): Promise<void> {
  let startedKafka = false;
  if (!process.env.KAFKA_BROKERS && !(await brokerAnswers(9092))) {
    say('starting the local Kafka broker on 127.0.0.1:9092 (first run downloads its jars with mvn)');
    execFileSync('bash', [kafkaScript, 'start', '9092'], { stdio: 'inherit' });
    startedKafka = true;
  }
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/graphql_kafka_gateway';
  await ensureDatabase(databaseUrl);

  const gateway = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'development', DATABASE_URL: databaseUrl, LOG_FORMAT: process.env.LOG_FORMAT ?? 'pretty' },
  });
  const stopAll = () => gateway.kill('SIGTERM');
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  gateway.on('exit', (code) => {
    if (startedKafka) {
      say('stopping the local Kafka broker');
      execFileSync('bash', [kafkaScript, 'stop', '9092'], { stdio: 'inherit' });
    }
    process.exit(code ?? 0);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`dev: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
