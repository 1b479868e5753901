import { mintAccessToken } from '../../src/adapters/auth/access-tokens.js';
import type { ScratchDatabase } from '../../test/support/scratch.js';
import { BENCH_SECRET, type ChildServer, startGateway } from './child-server.js';
import { migratedScratchDatabase, removeKafkaResources, uniqueName } from './environment.js';
import { graphqlClient } from './http-client.js';
import type { ScenarioContext } from './scenario.js';

/** The load generator's token: one caller that may open accounts, place orders and read every order (and `readScopes`). */
export const benchToken = (readScopes: readonly string[] = []): Promise<string> =>
  mintAccessToken(BENCH_SECRET, { sub: 'bench', scope: ['accounts:write', 'orders:write', 'orders:read:all', ...readScopes] });

export interface ScenarioGatewayOptions {
  /** The scenario's name: in its progress line and its topic's name (`bench-<name>-...`). */
  name: string;
  /** KAFKA_BROKERS of this gateway. @default the run's broker */
  brokers?: string;
  /** More of the gateway's environment (SUBSCRIPTIONS_PER_CALLER, ...). */
  env?: Record<string, string>;
  nodeArgs?: readonly string[];
  /** Sockets of its HTTP client. @default 64 */
  maxSockets?: number;
  /** src/main.ts through tsx instead of the build (child-server.ts). @default false */
  fromSource?: boolean;
  /** More scopes of the bench token: the readScope of a declared topic the gateway is given. */
  readScopes?: readonly string[];
}

export interface ScenarioGateway {
  server: ChildServer;
  database: ScratchDatabase;
  brokers: string;
  topic: string;
  groupPrefix: string;
  token: string;
  client: ReturnType<typeof graphqlClient>;
}

/**
 * A gateway of the scenario's own: a migrated scratch database, a topic and a group prefix of its own, and an HTTP
 * client with the bench token. Everything is handed to `context.defer`, so the runner removes it whatever happens.
 */
export async function startScenarioGateway(context: ScenarioContext, options: ScenarioGatewayOptions): Promise<ScenarioGateway> {
  context.progress.update(`${options.name}: starting the gateway`);
  const brokers = options.brokers ?? context.brokers;
  const database = await migratedScratchDatabase(context.adminDatabaseUrl);
  context.defer(() => database.drop());
  const topic = uniqueName(`bench-${options.name}`).replaceAll('_', '-');
  const groupPrefix = uniqueName('bench').replaceAll('_', '-');
  context.defer(() => removeKafkaResources(brokers, [topic], `${groupPrefix}.`));
  const server = await startGateway(
    { DATABASE_URL: database.url, KAFKA_BROKERS: brokers, ORDERS_TOPIC: topic, KAFKA_GROUP_PREFIX: groupPrefix, ...options.env },
    options.nodeArgs,
    options.fromSource,
  );
  context.defer(() => server.stop());
  const token = await benchToken(options.readScopes);
  const client = graphqlClient(server.url, { token, maxSockets: options.maxSockets ?? 64 });
  context.defer(async () => client.close());
  return { server, database, brokers, topic, groupPrefix, token, client };
}
