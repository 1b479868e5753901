import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../scripts/embedded-postgres.js';
import { applyMigrations } from '../../src/adapters/postgres/migrate.js';
import type { CleanupList } from '../support/cleanup.js';
import { startGatewayProcess } from '../support/gateway.js';
import { startPrivateBroker } from '../support/local-kafka.js';
import { privatePort } from '../support/private-ports.js';
import { deleteGroupsWithPrefix, deleteTopic, uniqueName, waitFor } from '../support/resources.js';

/** Ports of the fault suite's own broker and PostgreSQL: both are stopped and restarted by the suite. */
export const FAULT_KAFKA_PORT = privatePort('faultKafka');
export const FAULT_POSTGRES_PORT = privatePort('faultPostgres');

const root = fileURLToPath(new URL('../..', import.meta.url));

type GatewayProcess = Awaited<ReturnType<typeof startGatewayProcess>>;

/** A gateway process of the suite; `killedByTest` tells an exit the suite caused from one it did not. */
export interface FaultGateway {
  readonly name: string;
  readonly process: GatewayProcess;
  killedByTest: boolean;
}

const RELAY_ACTIVE = 'outbox relay is active on this process';
const RELAY_GAVE_UP = 'outbox relay gave up its lease';

/**
 * Everything the fault suite breaks: a broker, a PostgreSQL server and gateway processes of its own, on one
 * database and one topic. Gateways are started with their names (`a`, `b`) so logs and counts say which.
 */
export class FaultWorld {
  readonly gateways: FaultGateway[] = [];
  /** Every gateway ever started here, the killed ones too: none may have exited on its own. */
  readonly everStarted: FaultGateway[] = [];

  private constructor(
    readonly cleanups: CleanupList,
    readonly broker: Awaited<ReturnType<typeof startPrivateBroker>>,
    private postgresServer: EmbeddedPostgres,
    readonly databaseUrl: string,
    readonly databaseName: string,
    readonly topic: string,
    readonly groupPrefix: string,
  ) {}

  static async create(cleanups: CleanupList): Promise<FaultWorld> {
    const broker = await startPrivateBroker(FAULT_KAFKA_PORT);
    cleanups.push(() => broker.stop());
    const server = await startEmbeddedPostgres({ baseDir: postgresDir, port: FAULT_POSTGRES_PORT, say: () => {} });
    const name = uniqueName('faults');
    const adminUrl = `postgres://postgres@127.0.0.1:${FAULT_POSTGRES_PORT}/postgres`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    await admin.end();
    const databaseUrl = `postgres://postgres@127.0.0.1:${FAULT_POSTGRES_PORT}/${name}`;
    await applyMigrations(databaseUrl);
    const topic = uniqueName('faults-orders').replaceAll('_', '-');
    const groupPrefix = uniqueName('faults').replaceAll('_', '-');
    const world = new FaultWorld(cleanups, broker, server, databaseUrl, name, topic, groupPrefix);
    cleanups.push(async () => {
      // The server may be stopped by a failed restart phase: start it again to drop the database.
      world.postgresServer = await startEmbeddedPostgres({ baseDir: postgresDir, port: FAULT_POSTGRES_PORT, say: () => {} });
      const end = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await end.unsafe(`drop database if exists ${name} with (force)`).finally(() => end.end());
      await world.postgresServer.stop();
    });
    cleanups.push(() => deleteGroupsWithPrefix(`${groupPrefix}.`, [broker.brokers]));
    cleanups.push(() => deleteTopic(topic, [broker.brokers]));
    return world;
  }

  /** A SQL client on the suite's database, closed at clean-up. */
  sql() {
    const sql = postgres(this.databaseUrl, { max: 2, onnotice: () => {}, fetch_types: false });
    this.cleanups.push(() => sql.end({ timeout: 1 }));
    return sql;
  }

  async startGateway(name: string): Promise<FaultGateway> {
    const process = await startGatewayProcess({
      DATABASE_URL: this.databaseUrl,
      KAFKA_BROKERS: this.broker.brokers,
      ORDERS_TOPIC: this.topic,
      KAFKA_GROUP_PREFIX: this.groupPrefix,
      ORDERS_TOPIC_PARTITIONS: '3',
      RATE_LIMIT_PER_SECOND: '0',
    });
    const gateway: FaultGateway = { name, process, killedByTest: false };
    this.cleanups.push(() => process.kill());
    this.gateways.push(gateway);
    this.everStarted.push(gateway);
    return gateway;
  }

  /** SIGKILLs a gateway; it leaves `gateways` (its URL stops being offered), and its exit is the test's doing. */
  async killGateway(gateway: FaultGateway): Promise<void> {
    gateway.killedByTest = true;
    this.gateways.splice(this.gateways.indexOf(gateway), 1);
    await gateway.process.kill('SIGKILL');
  }

  liveUrls(): string[] {
    return this.gateways.map((g) => g.process.url);
  }

  gatewayAt(url: string): FaultGateway | undefined {
    return this.gateways.find((g) => g.process.url === url);
  }

  /** The gateway whose relay holds the lease, from each one's last lease line in its log. */
  async relayHolder(): Promise<FaultGateway> {
    return waitFor('a gateway holding the relay lease', () =>
      this.gateways.find((g) => {
        const last = g.process.lines.findLast((l) => l.includes(RELAY_ACTIVE) || l.includes(RELAY_GAVE_UP));
        return last?.includes(RELAY_ACTIVE);
      }),
    );
  }

  /** Gateways that ended although the suite never killed them, with the end of their logs. */
  selfExited(): string[] {
    return this.everStarted
      .filter((g) => !g.killedByTest && g.process.exitCode() !== null)
      .map((g) => `gateway ${g.name} exited ${g.process.exitCode()} on its own:\n${g.process.lines.slice(-30).join('\n')}`);
  }

  async stopPostgres(): Promise<void> {
    await this.postgresServer.stop();
  }

  async startPostgres(): Promise<void> {
    this.postgresServer = await startEmbeddedPostgres({ baseDir: postgresDir, port: FAULT_POSTGRES_PORT, say: () => {} });
  }

  /** Ends every session the gateways hold on the suite's database; resolves with how many. */
  async terminateDatabaseSessions(): Promise<number> {
    const admin = postgres(`postgres://postgres@127.0.0.1:${FAULT_POSTGRES_PORT}/postgres`, { max: 1, onnotice: () => {} });
    try {
      const ended = await admin`
        select pg_terminate_backend(pid) from pg_stat_activity where datname = ${this.databaseName} and pid <> pg_backend_pid()`;
      return ended.length;
    } finally {
      await admin.end();
    }
  }
}

const postgresDir = join(root, '.cache', 'faults', 'postgres');
