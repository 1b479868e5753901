/**
 * What a bench run stands on, found or started the way `npm run dev` does: the database (DATABASE_URL; else the
 * server on LOCAL_POSTGRES_ADDRESS; else the embedded PostgreSQL, started here) and one local broker
 * (`--kafka-port`, else KAFKA_BROKERS, else 127.0.0.1:9092), started here when it does not answer. stop() stops
 * what this run started, and only that.
 */
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { ScriptFailure } from '../../scripts/fail-in-one-line.js';
import { brokerAnswers } from '../../scripts/kafka/broker-answers.js';
import { localBroker } from '../../scripts/kafka/local-broker.js';
import { localPostgres } from '../../scripts/local-postgres.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export interface BenchEnvironment {
  /** KAFKA_BROKERS for the gateways and clients of the run. */
  readonly brokers: string;
  /** A database URL on the server the run uses, for creating scratch databases. */
  readonly adminDatabaseUrl: string;
  /** Pids of what this run started (a broker), for the summary line. */
  readonly startedPids: readonly number[];
  /** Stops what this run started, last first; safe to call twice and from a signal handler. */
  stop(): Promise<void>;
}

export interface BenchEnvironmentOptions {
  /** `--kafka-port`: the local broker's port, over KAFKA_BROKERS. */
  kafkaPort?: number;
  env: NodeJS.ProcessEnv;
  say: (line: string) => void;
  /** Given the environment's stop() before anything starts, so that a signal during start-up stops what started. */
  onStop?: (stop: () => Promise<void>) => void;
}

/** Benchmarks send traffic to this machine only. */
export function assertLoopback(what: string, hostPorts: string): void {
  for (const hostPort of hostPorts.split(',')) {
    const host = hostPort.trim().replace(/:\d+$/, '');
    if (!LOOPBACK.has(host)) throw new ScriptFailure(`${what} must be on loopback for benchmarks, not ${hostPort}`, 2);
  }
}

/** The one local broker of KAFKA_BROKERS, if that is what it names. */
function singleLocalPort(brokers: string): number | undefined {
  const list = brokers.split(',').map((b) => b.trim());
  const [, , port] = /^(127\.0\.0\.1|localhost):(\d{1,5})$/.exec(list[0] ?? '') ?? [];
  return list.length === 1 && port ? Number(port) : undefined;
}

/** `select 1` on the server: a refused or wrong database ends the run before any scenario starts. */
async function checkDatabase(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`select 1`;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

export async function startBenchEnvironment({ kafkaPort, env, say, onStop }: BenchEnvironmentOptions): Promise<BenchEnvironment> {
  const stops: (() => Promise<void>)[] = [];
  const startedPids: number[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      for (const step of stops.reverse()) await step().catch((error: unknown) => say(`clean-up failed: ${(error as Error).message}`));
    })();
    return stopping;
  };
  onStop?.(stop);
  try {
    let adminDatabaseUrl = env.DATABASE_URL;
    if (adminDatabaseUrl) {
      if (!URL.canParse(adminDatabaseUrl))
        throw new ScriptFailure('DATABASE_URL is not a URL: use postgres://user@host:port/postgres, or unset it', 2);
      assertLoopback('DATABASE_URL', new URL(adminDatabaseUrl).host);
      // Checked before it is named: a refused one ends the run with the one line of the failure.
      await checkDatabase(adminDatabaseUrl);
      say(`database: ${new URL(adminDatabaseUrl).host}, from DATABASE_URL`);
    } else {
      const local = await localPostgres({ root: ROOT, env, urlVariable: 'DATABASE_URL', say });
      if (local.owned) stops.push(() => local.stop().then(() => say('stopped the embedded PostgreSQL')));
      adminDatabaseUrl = local.url('postgres');
      await checkDatabase(adminDatabaseUrl);
      say(`database: ${local.description}`);
    }

    const brokers = kafkaPort !== undefined ? `127.0.0.1:${kafkaPort}` : env.KAFKA_BROKERS || '127.0.0.1:9092';
    assertLoopback('KAFKA_BROKERS', brokers);
    const port = singleLocalPort(brokers);
    if (port !== undefined) {
      const broker = await localBroker(port, {
        starting: (starting) => {
          say(`no broker answers on ${starting.brokers}: starting one (first run downloads its jars with mvn)`);
          stops.push(() => starting.stop().then(() => say(`stopped the Kafka broker on ${starting.brokers}`)));
        },
      });
      const pid = broker.pid();
      if (pid !== undefined) startedPids.push(pid);
      say(
        broker.owned
          ? `started a Kafka broker on ${broker.brokers} (pid ${pid ?? '?'})`
          : `Kafka: the broker answering on ${broker.brokers}`,
      );
    } else {
      const answering = await Promise.all(
        brokers.split(',').map((b) => {
          const [host = '', p = ''] = b.trim().split(/:(?=\d+$)/);
          return brokerAnswers(Number(p), host);
        }),
      );
      if (!answering.includes(true)) {
        throw new ScriptFailure(
          `no Kafka broker answers at ${brokers}, and the bench starts only one on 127.0.0.1: start them, or unset KAFKA_BROKERS`,
        );
      }
    }
    return { brokers, adminDatabaseUrl, startedPids, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
