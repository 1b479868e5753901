/**
 * npm run dev: everything a newcomer needs on a fresh clone after `npm ci`.
 * Builds the explorer when missing or stale, picks a database (DATABASE_URL; else the server on
 * LOCAL_POSTGRES_ADDRESS; else the embedded PostgreSQL, started here), creates the database if
 * missing, starts the local Kafka broker when
 * KAFKA_BROKERS (default 127.0.0.1:9092) is one local broker that does not answer,
 * and runs the gateway in development mode (it applies migrations and creates the
 * topic itself) with a secret kept in .cache/dev-auth-secret unless AUTH_JWT_SECRET
 * is set. The gateway also serves the examples' declared topic (topupCompleted, examples/topups.graphql) unless
 * SCHEMA_PATHS is set. `--gateways N` (1-8) runs N gateways behind the local load balancer instead (dev-gateways.ts).
 * Ctrl-C stops what this script started.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { isLoopbackHost } from '../src/development-token.js';
import { examplesSchemaPaths } from './demo/examples-schema.js';
import { type GatewayGroup, parseGatewayCount, startGatewayGroup } from './dev-gateways.js';
import { devSecretFile, ensureDevSecret } from './dev-secret.js';
import { ensureExplorerBuilt } from './explorer-build.js';
import { printFailure, runScript, ScriptFailure, withoutVerbose } from './fail-in-one-line.js';
import { brokerAnswers } from './kafka/broker-answers.js';
import { localPostgres } from './local-postgres.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const kafkaScript = fileURLToPath(new URL('./kafka/kafka.sh', import.meta.url));
const say = (line: string) => process.stdout.write(`dev: ${line}\n`);

/** Redacts a password in a URL written to the terminal. */
function shown(url: string): string {
  if (!URL.canParse(url)) return '(not a URL)';
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

async function ensureDatabase(url: string): Promise<void> {
  if (!URL.canParse(url))
    throw new ScriptFailure('DATABASE_URL is not a URL: use postgres://user[:password]@host:port/database, or unset it');
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    const found = await sql`select 1 from pg_database where datname = ${name}`;
    if (found.length === 0) {
      await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
      say(`created database ${name}`);
    }
  } catch (error) {
    throw new ScriptFailure(
      `could not check or create the database of ${shown(url)}: ${(error as Error).message}; check DATABASE_URL, or unset it to use a local or the embedded PostgreSQL`,
    );
  } finally {
    await sql.end();
  }
}

/**
 * Starts the local broker when KAFKA_BROKERS is one local broker that does not answer. `starting` is
 * called with its port first, so that an interrupted start is stopped too.
 */
async function ensureKafka(starting: (port: number) => void): Promise<void> {
  const list = (process.env.KAFKA_BROKERS || '127.0.0.1:9092')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const brokers = list.flatMap((b) => {
    const [, host, port] = /^(.+):(\d{1,5})$/.exec(b) ?? [];
    return host && Number(port) >= 1 && Number(port) <= 65535 ? [{ host: host.toLowerCase(), port: Number(port) }] : [];
  });
  // A malformed list is left to the gateway, which names the problem.
  if (brokers.length === 0 || brokers.length < list.length) return;
  const [only] = brokers;
  if (brokers.length === 1 && only && (only.host === '127.0.0.1' || only.host === 'localhost')) {
    if (await brokerAnswers(only.port)) return;
    say(`starting the local Kafka broker on 127.0.0.1:${only.port} (first run downloads its jars with mvn)`);
    starting(only.port);
    try {
      execFileSync('bash', [kafkaScript, 'start', String(only.port)], { stdio: 'inherit' });
    } catch {
      throw new ScriptFailure(`the local Kafka broker did not start (the line above says why); or set KAFKA_BROKERS to a running broker`);
    }
    return;
  }
  const answering = await Promise.all(brokers.map((b) => brokerAnswers(b.port, b.host)));
  if (!answering.includes(true)) {
    say(
      'no broker in KAFKA_BROKERS answers, and dev does not start remote or several brokers (only one on 127.0.0.1 or localhost); the gateway runs without Kafka until one answers',
    );
  }
}

/** The balancer's port: PORT as the gateway reads it (an invalid one is named here, as the gateway would). */
function balancerPort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 4000;
  const port = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) throw new ScriptFailure(`PORT must be a port number from 0 to 65535 (got "${raw}")`);
  return port;
}

/** Set by SIGINT/SIGTERM before the gateway runs: set-up stops after its current step. */
class Interrupted extends Error {}

async function main(): Promise<number> {
  const gatewayCount = parseGatewayCount(withoutVerbose(process.argv.slice(2)));
  if (gatewayCount instanceof Error) {
    process.stderr.write(`dev: ${gatewayCount.message}\n`);
    return 2;
  }
  // What this run started, stopped last-in first-out whatever happens.
  const stops: (() => Promise<void> | void)[] = [];
  let gateway: ReturnType<typeof spawn> | undefined;
  let group: GatewayGroup | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    gateway?.kill('SIGTERM');
    group?.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Called between steps, once what a step started is on `stops`.
  const checkpoint = () => {
    if (interrupted) throw new Interrupted();
  };

  let code = 0;
  try {
    await ensureExplorerBuilt(root, say);
    checkpoint();
    let databaseUrl = process.env.DATABASE_URL;
    if (databaseUrl) {
      say(`database: ${shown(databaseUrl)}, from DATABASE_URL`);
    } else {
      const local = await localPostgres({ root, env: process.env, urlVariable: 'DATABASE_URL', say });
      if (local.owned) {
        stops.push(async () => {
          say('stopping the embedded PostgreSQL');
          await local.stop();
        });
      }
      databaseUrl = local.url('graphql_kafka_gateway');
      say(`database: graphql_kafka_gateway on ${local.description}`);
      checkpoint();
    }
    const url = databaseUrl;
    await ensureDatabase(url);
    checkpoint();
    let secret = process.env.AUTH_JWT_SECRET;
    if (!secret) {
      secret = ensureDevSecret();
      say(`signing tokens with the secret in ${devSecretFile} (set AUTH_JWT_SECRET to use another)`);
    }
    await ensureKafka((kafkaPort) =>
      stops.push(() => {
        say('stopping the local Kafka broker');
        execFileSync('bash', [kafkaScript, 'stop', String(kafkaPort)], { stdio: 'inherit' });
      }),
    );
    checkpoint();

    const publicHost = process.env.HOST || '127.0.0.1';
    // Behind a balancer on a public address, each gateway must not embed the all-scopes development token in pages
    // the balancer serves: a gateway embeds it only when its own HOST is loopback.
    const gatewayHost = isLoopbackHost(publicHost) ? '127.0.0.1' : publicHost;
    const schemaPaths = examplesSchemaPaths(process.env);
    if (process.env.SCHEMA_PATHS === undefined)
      say(`serving examples/topups.graphql beside schema.graphql (topupCompleted); set SCHEMA_PATHS to choose other files`);
    const gatewayEnv = (port?: number): NodeJS.ProcessEnv => ({
      ...process.env,
      NODE_ENV: 'development',
      DATABASE_URL: url,
      AUTH_JWT_SECRET: secret,
      SCHEMA_PATHS: schemaPaths,
      LOG_FORMAT: process.env.LOG_FORMAT ?? 'pretty',
      ...(port !== undefined && { PORT: String(port), HOST: gatewayHost }),
      // Piped through dev to tag its lines: keep pino-pretty's colours for a terminal.
      ...(port !== undefined && process.stdout.isTTY && { FORCE_COLOR: process.env.FORCE_COLOR ?? '1' }),
    });
    const gatewayArgs = ['--import', 'tsx', 'src/main.ts'];
    if (gatewayCount === 1) {
      const child = spawn(process.execPath, gatewayArgs, { cwd: root, stdio: 'inherit', env: gatewayEnv() });
      gateway = child;
      code = await new Promise<number>((resolve) => child.once('exit', (exitCode) => resolve(exitCode ?? 0)));
    } else {
      const started = await startGatewayGroup({
        count: gatewayCount,
        host: publicHost,
        port: balancerPort(process.env.PORT),
        spawnGateway: (_n, port) =>
          spawn(process.execPath, gatewayArgs, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: gatewayEnv(port) }),
        say,
      });
      group = started;
      stops.push(() => started.close());
      if (interrupted) started.stop();
      code = await started.exited;
    }
  } catch (error) {
    // After Ctrl-C, a step's failure (a build killed by the same signal) is the interruption, not an error.
    if (error instanceof Interrupted || interrupted) {
      code = 130;
    } else {
      printFailure('dev', error);
      code = 1;
    }
  }
  for (const stop of stops.reverse()) {
    try {
      await stop();
    } catch (error) {
      printFailure('dev', error);
      code ||= 1;
    }
  }
  return code;
}

runScript('dev', main);
