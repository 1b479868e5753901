import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { error: 'must be an integer' })
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, { error: `must be at least ${min}` })
        .max(max, { error: `must be at most ${max}` }),
    );

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `must be one of ${values.join(', ')}` });

const flag = z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }).transform((v) => v === 'true' || v === '1');

const SECONDS_PER_UNIT = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
/** Seconds, given as a whole number of seconds or with a unit: `90s`, `15m`, `24h`, `7d`. */
const duration = (maxDays: number) =>
  z
    .string()
    .regex(/^\d+[smhd]?$/, { error: 'must be a whole number of seconds, or one with a unit s, m, h or d (e.g. 24h)' })
    .transform((v) => {
      const unit = v.at(-1) as string;
      return unit in SECONDS_PER_UNIT ? Number(v.slice(0, -1)) * SECONDS_PER_UNIT[unit as keyof typeof SECONDS_PER_UNIT] : Number(v);
    })
    .pipe(
      z
        .number()
        .min(1, { error: 'must be at least 1 second' })
        .max(maxDays * 86_400, { error: `must be at most ${maxDays}d` }),
    );

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
const isHost = (value: string) => isIP(value) !== 0 || HOSTNAME.test(value);

function isBroker(value: string): boolean {
  const match = /^(.+):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  return match?.[1] !== undefined && isHost(match[1]) && port >= 1 && port <= 65535;
}

function isPostgresUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** A connection string as it may be printed: without its password. */
function redactedUrl(value: string): string {
  try {
    const url = new URL(value);
    if (url.hostname !== '') {
      if (url.password) url.password = '***';
      return url.toString();
    }
  } catch {
    // not a URL at all: fall through
  }
  return '(not shown: it may hold a password)';
}

/**
 * Every environment variable the gateway reads. Each key's TSDoc (its meaning, then `@default`) becomes a row of the
 * configuration table in docs/operations.md (`npm run docs:config`; `npm run lint` fails when they disagree).
 */
const environmentSchema = z.object({
  /** `development` generates a JWT secret and prints a token; `production` masks error details. */
  NODE_ENV: oneOf(['development', 'production', 'test']).default('production'),
  /** TCP port of HTTP and websockets. @default 4000 */
  PORT: integer(0, 65535).default(4000),
  /** Address to listen on (`0.0.0.0` in the container image). @default 127.0.0.1 */
  HOST: z.string().refine(isHost, { error: 'must be a host name or an IP address, without a port' }).default('127.0.0.1'),
  /** PostgreSQL connection string. @default postgres://postgres@127.0.0.1:5432/graphql_kafka_gateway */
  DATABASE_URL: z
    .string()
    .refine(isPostgresUrl, { error: 'must be a postgres://user@host:port/database connection string' })
    .default('postgres://postgres@127.0.0.1:5432/graphql_kafka_gateway'),
  /** Comma-separated host:port list. @default 127.0.0.1:9092 */
  KAFKA_BROKERS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .refine((list) => list.length > 0 && list.every(isBroker), {
      error: 'must be a comma-separated list of host:port (port 1-65535)',
    })
    .default(['127.0.0.1:9092']),
  /** Topic of settled orders. @default orders.settled */
  ORDERS_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, { error: 'must be a valid Kafka topic name' })
    .default('orders.settled'),
  /**
   * Extra SDL files or folders (every `*.graphql` in them), comma-separated, loaded after schema.graphql: usually
   * `extend type Subscription` with `@topic` fields (docs/declared-topics.md). @default none
   */
  SCHEMA_PATHS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    )
    .default([]),
  /** Partitions of the orders topic when the gateway creates it; an existing topic is left as it is. @default 6 */
  ORDERS_TOPIC_PARTITIONS: integer(1, 1000).default(6),
  /** Prefix of every consumer group the gateway creates. @default gql */
  KAFKA_GROUP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: 'must be 1-64 of [A-Za-z0-9_-]' })
    .default('gql'),
  /** Connect to the brokers over TLS. @default false */
  KAFKA_SSL: flag.default(false),
  /** PEM file of the CA(s) that signed the brokers' certificates; unset: the system's CAs. Needs KAFKA_SSL. */
  KAFKA_SSL_CA_FILE: z.string().optional(),
  /** PEM client certificate and its key, for brokers that require mutual TLS (both or neither). Need KAFKA_SSL. */
  KAFKA_SSL_CERT_FILE: z.string().optional(),
  /** PEM private key of KAFKA_SSL_CERT_FILE's certificate. */
  KAFKA_SSL_KEY_FILE: z.string().optional(),
  /** Check the brokers' certificates and host names; false only for a test cluster. @default true */
  KAFKA_SSL_REJECT_UNAUTHORIZED: flag.default(true),
  /** SASL authentication; needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD. */
  KAFKA_SASL_MECHANISM: oneOf(['scram-sha-256', 'scram-sha-512', 'plain']).optional(),
  /** SASL user name; needs KAFKA_SASL_MECHANISM. */
  KAFKA_SASL_USERNAME: z.string().optional(),
  /** SASL password; needs KAFKA_SASL_MECHANISM; never printed. */
  KAFKA_SASL_PASSWORD: z.string().optional(),
  /** HS256 secret for access tokens (and, derived from it, subscription cursors). Required outside development. */
  AUTH_JWT_SECRET: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  /** Required `aud` of access tokens: a token without it or with another audience is refused (UNAUTHENTICATED). `npm run token` and the development token carry it. Unset: `aud` is not checked. */
  AUTH_JWT_AUDIENCE: z.string().optional(),
  /** Required `iss` of access tokens: a token without it or from another issuer is refused (UNAUTHENTICATED). `npm run token` and the development token carry it. Unset: `iss` is not checked. */
  AUTH_JWT_ISSUER: z.string().optional(),
  /**
   * Longest lifetime (`exp - iat`) an access token may have, in seconds or with a unit (`900`, `15m`, `24h`, `7d`).
   * A longer token, one without `iat`, or one issued more than a minute in the future is refused (UNAUTHENTICATED).
   * Unset: no maximum, so tokens valid before an upgrade stay valid; set it to bound what a leaked token is worth.
   */
  AUTH_MAX_TOKEN_LIFETIME: duration(3650).optional(),
  /** Serve GraphiQL's page and assets at GET /graphql (it needs GRAPHQL_INTROSPECTION for its schema view). @default true */
  EXPLORER_ENABLED: flag.default(true),
  /**
   * Answer introspection (`__schema`, `__type`) to callers with a valid token; off, validation errors carry no
   * "Did you mean ...?" suggestions either. @default true when NODE_ENV=development, otherwise false
   */
  GRAPHQL_INTROSPECTION: flag.optional(),
  /** Deepest nesting of fields in one operation, introspection's included (GraphiQL's introspection query: 15). @default 20 */
  GRAPHQL_MAX_DEPTH: integer(1, 1000).default(20),
  /** Largest estimated number of fields one operation may resolve, a page counting once per item (GraphiQL's introspection query: 230). @default 5000 */
  GRAPHQL_MAX_COST: integer(1, 10_000_000).default(5000),
  /** Aliased fields one document may contain. @default 30 */
  GRAPHQL_MAX_ALIASES: integer(0, 100_000).default(30),
  /** Lexical tokens one document may contain; the parser stops at the first one over (GraphiQL's introspection query: 184). @default 1000 */
  GRAPHQL_MAX_TOKENS: integer(50, 1_000_000).default(1000),
  /** Directives (`@include`, `@skip`, ...) one document may contain. @default 20 */
  GRAPHQL_MAX_DIRECTIVES: integer(0, 100_000).default(20),
  /** Fields at the root of one operation, aliases and fragments included. @default 10 */
  GRAPHQL_MAX_ROOT_FIELDS: integer(1, 100_000).default(10),
  /** pino level. @default info */
  LOG_LEVEL: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` (one object per line) or `pretty` (for a terminal; `npm run dev` uses it). @default json */
  LOG_FORMAT: oneOf(['json', 'pretty']).default('json'),
  /** Connections of the request pool; further statements are pipelined on them. @default 4 */
  DATABASE_POOL_MAX: integer(1, 500).default(4),
  /** The request pool sends the statements of one event-loop turn in one socket write. @default true */
  DATABASE_COALESCE_WRITES: flag.default(true),
  /** Largest number of outbox rows one relay send publishes. @default 500 */
  RELAY_BATCH_SIZE: integer(1, 10000).default(500),
  /** Safety-net poll of the outbox when no NOTIFY arrives, and how often a standby relay tries to take over. @default 1000 */
  RELAY_POLL_MS: integer(10, 60000).default(1000),
  /** Shortest time between two outbox reads while records keep coming (bigger batches under load); 0 for none. @default 5 */
  RELAY_LINGER_MS: integer(0, 1000).default(5),
  /** The outbox relay on a worker thread of its own (true) or on the main thread (false). @default true */
  RELAY_THREAD: flag.default(true),
  /** Operations one caller (token `sub`) may run per second on this process, sustained; 0 turns the limit off. @default 1000 */
  RATE_LIMIT_PER_SECOND: integer(0, 1_000_000).default(1000),
  /** Operations one caller may run at once after being idle. @default 2000 */
  RATE_LIMIT_BURST: integer(1, 1_000_000).default(2000),
  /** Subscriptions one websocket may hold open at once; 0 for no limit. @default 100 */
  SUBSCRIPTIONS_PER_SOCKET: integer(0, 1_000_000).default(100),
  /** Subscriptions one caller (token `sub`) may hold open at once on this process; 0 for no limit. @default 1000 */
  SUBSCRIPTIONS_PER_CALLER: integer(0, 10_000_000).default(1000),
  /** New subscriptions one caller (token `sub`) may start per minute on this process, over every transport (all at once after a quiet minute, then evenly); past it RATE_LIMITED with retryAfterSeconds. Bounds the consumer groups a subscribe/complete loop creates and deletes. 0 for no limit. @default 1200 */
  SUBSCRIPTIONS_PER_CALLER_PER_MINUTE: integer(0, 10_000_000).default(1200),
  /** A comment line this often on every GraphQL-over-SSE stream, so proxies keep a quiet stream open (ms). @default 15000 */
  SSE_KEEPALIVE_MS: integer(100, 3_600_000).default(15000),
  /** Server ping interval of websockets; a peer that misses one ping by the next is closed. 0 turns it off. @default 30000 */
  WS_KEEPALIVE_MS: integer(0, 3_600_000).default(30000),
  /** How long a new websocket may take to send `connection_init` before it is closed (4408). @default 3000 */
  WS_INIT_TIMEOUT_MS: integer(100, 600_000).default(3000),
  /** Websockets that may await their `connection_init` at once; a new one over it closes the oldest waiting (1013). @default 500 */
  WS_MAX_AWAITING_INIT: integer(1, 1_000_000).default(500),
  /** Records per partition the shared read keeps in memory; an ephemeral subscriber further behind is ended. @default 2000 */
  SUBSCRIPTION_WINDOW_RECORDS: integer(16, 1_000_000).default(2000),
  /** How often moved consumer-group offsets are committed. @default 1000 */
  OFFSETS_COMMIT_INTERVAL_MS: integer(10, 60000).default(1000),
  /**
   * OffsetCommit requests per second this process may send for its subscription groups, shared by every group (the
   * ones whose offsets moved longest ago first); 0 for no limit. At 2000, 10,000 durable subscribers each receiving an
   * event a second have their offsets committed every 5 s instead of every second. @default 2000
   */
  OFFSETS_COMMITS_PER_SECOND: integer(0, 1_000_000).default(2000),
  /** How often a connected durable group's unchanged offsets are committed again; keep it well under the broker's offsets.retention.minutes. @default 3600000 */
  OFFSETS_REFRESH_MS: integer(1000, 604_800_000).default(3_600_000),
  /** Mean time between two sweeps (each wait is 50-150% of it) that delete the ephemeral groups of gateway processes that died; every gateway sweeps. 0 turns sweeping off (and this process's presence commit with it). @default 300000 */
  EPHEMERAL_GROUP_SWEEP_MS: integer(0, 86_400_000).default(300_000),
  /** A gateway process whose presence commit (renewed every sixth of this) is older than this is taken for gone, and its ephemeral groups without members are swept. Keep it above the clock skew between gateway hosts. @default 180000 */
  EPHEMERAL_GROUP_STALE_MS: integer(600, 86_400_000).default(180_000),
  /** A durable group that no subscription has used (committed) for this long is counted in gateway_idle_durable_groups; the gateway never deletes it. @default 2592000000 (30 days) */
  DURABLE_GROUP_IDLE_MS: integer(1000, 315_360_000_000).default(2_592_000_000),
  /** Durable subscriber groups labelled in gateway_consumer_group_lag (those furthest behind); the rest are summed under group="other". @default 100 */
  METRICS_MAX_LAG_GROUPS: integer(1, 10_000).default(100),
  /** How often what a scrape must not wait for is refreshed: the offsets of durable groups no subscription here holds. @default 15000 */
  METRICS_REFRESH_MS: integer(100, 3_600_000).default(15000),
  /** When set, GET /metrics answers only requests with `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). At least 16 characters. */
  METRICS_TOKEN: z.string().min(16, { error: 'must be at least 16 characters' }).optional(),
  /** Durable groups in metric labels: `full` (the group id, which holds the caller's `sub`), `hashed` (12 hex characters of an HMAC of the id, keyed from AUTH_JWT_SECRET: stable across restarts and processes), `none` (no per-group series, only the sum under group="other"). @default hashed */
  METRICS_GROUP_LABELS: oneOf(['full', 'hashed', 'none']).default('hashed'),
  /** How often PostgreSQL and Kafka are checked in the background for /readyz and gateway_dependency_up, one check of each at a time however many requests arrive; /readyz answers 503 until both answered. @default 2000 */
  READINESS_REFRESH_MS: integer(100, 600_000).default(2000),
  /** After SIGTERM, how long /readyz answers 503 (and new websockets are refused) before open ones are closed, so a load balancer stops routing here first. @default 1000 */
  DRAIN_DELAY_MS: integer(0, 600000).default(1000),
  /** How long shutdown may take, drain delay included, before the process exits anyway. @default 10000 */
  SHUTDOWN_TIMEOUT_MS: integer(0, 600000).default(10000),
});

export type Environment = z.infer<typeof environmentSchema>;

export type Config = Omit<Environment, 'AUTH_JWT_SECRET'> & {
  AUTH_JWT_SECRET: string;
  /** True when the secret was generated at start-up (development only). */
  authSecretGenerated: boolean;
  /** What `${VAR}` in a `@topic` name reads: the environment given, with ORDERS_TOPIC as configured (its default included). */
  topicEnvironment: Readonly<Record<string, string | undefined>>;
};

const SECRET_VARIABLES = new Set(['AUTH_JWT_SECRET', 'KAFKA_SASL_PASSWORD', 'METRICS_TOKEN']);

const readable = (path: string): boolean => {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
};

/** Settings valid one by one but not together: the variable to name and why. */
function combinationProblem(env: Environment): [variable: string, message: string] | undefined {
  if (env.DRAIN_DELAY_MS >= env.SHUTDOWN_TIMEOUT_MS && env.DRAIN_DELAY_MS > 0) {
    return ['DRAIN_DELAY_MS', `must be less than SHUTDOWN_TIMEOUT_MS (${env.SHUTDOWN_TIMEOUT_MS}), which it is part of`];
  }
  if (env.DURABLE_GROUP_IDLE_MS <= env.OFFSETS_REFRESH_MS) {
    // A group connected to another gateway process is re-committed only that often: it would look idle in between.
    return ['DURABLE_GROUP_IDLE_MS', `must be longer than OFFSETS_REFRESH_MS (${env.OFFSETS_REFRESH_MS})`];
  }
  for (const variable of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const) {
    const path = env[variable];
    if (path === undefined) continue;
    if (!env.KAFKA_SSL) return [variable, 'is set but KAFKA_SSL is not true: set KAFKA_SSL=true to use TLS'];
    if (!readable(path)) return [variable, `names a file that cannot be read (got ${JSON.stringify(path)})`];
  }
  if ((env.KAFKA_SSL_CERT_FILE === undefined) !== (env.KAFKA_SSL_KEY_FILE === undefined)) {
    const missing = env.KAFKA_SSL_CERT_FILE === undefined ? 'KAFKA_SSL_CERT_FILE' : 'KAFKA_SSL_KEY_FILE';
    return [missing, 'is required with the other (a client certificate and its key go together)'];
  }
  if (env.KAFKA_SASL_MECHANISM === undefined) {
    const stray =
      env.KAFKA_SASL_USERNAME !== undefined
        ? 'KAFKA_SASL_USERNAME'
        : env.KAFKA_SASL_PASSWORD !== undefined
          ? 'KAFKA_SASL_PASSWORD'
          : undefined;
    if (stray) return ['KAFKA_SASL_MECHANISM', `is required when ${stray} is set (one of scram-sha-256, scram-sha-512, plain)`];
  } else {
    if (env.KAFKA_SASL_USERNAME === undefined)
      return ['KAFKA_SASL_USERNAME', `is required with KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM}`];
    if (env.KAFKA_SASL_PASSWORD === undefined)
      return ['KAFKA_SASL_PASSWORD', `is required with KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM}`];
  }
  return undefined;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

/** Validates the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.keys(environmentSchema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const got = present[variable];
    const shown =
      SECRET_VARIABLES.has(variable) || got === undefined
        ? ''
        : ` (got ${JSON.stringify(variable === 'DATABASE_URL' ? redactedUrl(got) : got)})`;
    throw new ConfigError(variable, `${issue?.message ?? 'is invalid'}${shown}`);
  }
  const problem = combinationProblem(parsed.data);
  if (problem) throw new ConfigError(...problem);
  const { AUTH_JWT_SECRET, ...rest } = parsed.data;
  const topicEnvironment = { ...env, ORDERS_TOPIC: rest.ORDERS_TOPIC };
  if (AUTH_JWT_SECRET !== undefined) return { ...rest, AUTH_JWT_SECRET, authSecretGenerated: false, topicEnvironment };
  if (rest.NODE_ENV !== 'development') {
    throw new ConfigError('AUTH_JWT_SECRET', 'is required unless NODE_ENV=development (at least 32 characters)');
  }
  return { ...rest, AUTH_JWT_SECRET: randomBytes(32).toString('base64url'), authSecretGenerated: true, topicEnvironment };
}

export type TokenSettings = Pick<Environment, 'AUTH_JWT_AUDIENCE' | 'AUTH_JWT_ISSUER' | 'AUTH_MAX_TOKEN_LIFETIME'>;

/** The access-token rules alone, validated as loadConfig does: for `npm run token`, which needs no full configuration. */
export function loadTokenSettings(env: NodeJS.ProcessEnv = process.env): TokenSettings {
  const keys = ['AUTH_JWT_AUDIENCE', 'AUTH_JWT_ISSUER', 'AUTH_MAX_TOKEN_LIFETIME'] as const;
  const present = Object.fromEntries(keys.flatMap((key) => (env[key] ? [[key, env[key]]] : [])));
  const parsed = environmentSchema
    .pick({ AUTH_JWT_AUDIENCE: true, AUTH_JWT_ISSUER: true, AUTH_MAX_TOKEN_LIFETIME: true })
    .safeParse(present);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const variable = String(issue?.path[0] ?? 'environment');
  throw new ConfigError(variable, `${issue?.message ?? 'is invalid'} (got ${JSON.stringify(present[variable])})`);
}
