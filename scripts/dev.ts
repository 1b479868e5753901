/**
 * npm run dev: everything a newcomer needs on a fresh clone after `npm ci`.
 * Creates the local database if missing, starts the local Kafka broker when
 * KAFKA_BROKERS (default 127.0.0.1:9092) is one local broker that does not answer,
 * and runs the gateway in development mode (it applies migrations and creates the
 * topic itself) with a secret kept in .cache/dev-auth-secret unless AUTH_JWT_SECRET
 * is set. Ctrl-C stops what this script started.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { devSecretFile, ensureDevSecret } from './dev-secret.js';
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

/** Starts the local broker when KAFKA_BROKERS is one local broker that does not answer; returns the port it started. */
async function ensureKafka(): Promise<number | undefined> {
  const list = (process.env.KAFKA_BROKERS || '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const brokers = list.flatMap((b) => {
    const [, host, port] = /^(.+):(\d{1,5})$/.exec(b) ?? [];
    return host && Number(port) >= 1 && Number(port) <= 65535 ? [{ host: host.toLowerCase(), port: Number(port) }] : [];
  });
  // A malformed list is left to the gateway, which names the problem.
  if (brokers.length === 0 || brokers.length < list.length) return undefined;
  const [only] = brokers;
  if (brokers.length === 1 && only && (only.host === '127.0.0.1' || only.host === 'localhost')) {
    if (await brokerAnswers(only.port)) return undefined;
    say(`starting the local Kafka broker on 127.0.0.1:${only.port} (first run downloads its jars with mvn)`);
    execFileSync('bash', [kafkaScript, 'start', String(only.port)], { stdio: 'inherit' });
    return only.port;
  }
  const answering = await Promise.all(brokers.map((b) => brokerAnswers(b.port, b.host)));
  if (!answering.includes(true)) {
    say(
      'no broker in KAFKA_BROKERS answers, and dev does not start remote or several brokers (only one on 127.0.0.1 or localhost); the gateway runs without Kafka until one answers',
    );
  }
  return undefined;
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/graphql_kafka_gateway';
  await ensureDatabase(databaseUrl);
  let secret = process.env.AUTH_JWT_SECRET;
  if (!secret) {
    secret = ensureDevSecret();
    say(`signing tokens with the secret in ${devSecretFile} (set AUTH_JWT_SECRET to use another)`);
  }
  const kafkaPort = await ensureKafka();

  const gateway = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      NODE_ENV: 'development',
      DATABASE_URL: databaseUrl,
      AUTH_JWT_SECRET: secret,
      LOG_FORMAT: process.env.LOG_FORMAT ?? 'pretty',
    },
  });
  const stopAll = () => gateway.kill('SIGTERM');
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  gateway.on('exit', (code) => {
    if (kafkaPort !== undefined) {
      say('stopping the local Kafka broker');
      execFileSync('bash', [kafkaScript, 'stop', String(kafkaPort)], { stdio: 'inherit' });
    }
    process.exit(code ?? 0);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`dev: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
