/**
 * Which PostgreSQL `npm run dev` and `npm test` use when no URL names one: the server answering on
 * LOCAL_POSTGRES_ADDRESS (default 127.0.0.1:5432), or else the embedded one (scripts/embedded-postgres.ts)
 * on 127.0.0.1:EMBEDDED_POSTGRES_PORT (default 5499), started here and stopped by `stop()`.
 */
import { isAbsolute, join, relative } from 'node:path';
import postgres from 'postgres';
import { EmbeddedPostgresError, startEmbeddedPostgres } from './embedded-postgres.js';

export { EmbeddedPostgresError };

export const DEFAULT_LOCAL_POSTGRES_ADDRESS = '127.0.0.1:5432';
export const DEFAULT_EMBEDDED_POSTGRES_PORT = 5499;

export interface LocalPostgresOptions {
  /** The project's root: the embedded server keeps its data in `<root>/.cache/embedded-postgres`. */
  root: string;
  /** LOCAL_POSTGRES_ADDRESS and EMBEDDED_POSTGRES_PORT are read from here. */
  env: NodeJS.ProcessEnv;
  /** The variable that would have named a server (DATABASE_URL for dev), for the line saying why. */
  urlVariable: string;
  say: (line: string) => void;
}

export interface LocalPostgres {
  /** postgres://postgres@host:port/`database` on the chosen server. */
  url(database: string): string;
  /** One line: which server, and why this one. */
  readonly description: string;
  /** True when stop() has a server to stop: an embedded one this run started (or adopted from a run that died). */
  readonly owned: boolean;
  /** Stops the embedded server if this run owns it; otherwise does nothing. */
  stop(): Promise<void>;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i;

function parseAddress(value: string): { host: string; port: number } {
  const [, host, port] = /^(.+):(\d{1,5})$/.exec(value) ?? [];
  if (!host || !port || Number(port) < 1 || Number(port) > 65535 || !LOOPBACK.test(host)) {
    throw new EmbeddedPostgresError(
      `LOCAL_POSTGRES_ADDRESS must be a loopback host:port such as ${DEFAULT_LOCAL_POSTGRES_ADDRESS} (got "${value}"); for any other server set DATABASE_URL`,
    );
  }
  return { host, port: Number(port) };
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_EMBEDDED_POSTGRES_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new EmbeddedPostgresError(`EMBEDDED_POSTGRES_PORT must be a port number from 1 to 65535 (got "${value}")`);
  }
  return port;
}

/** 'answers' when a PostgreSQL server lets user postgres in; 'none' when nothing listens. Anything else is an error to report. */
async function probe(host: string, port: number): Promise<'answers' | 'none'> {
  const sql = postgres({ host, port, user: 'postgres', database: 'postgres', max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return 'answers';
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'CONNECT_TIMEOUT') return 'none';
    throw new EmbeddedPostgresError(
      `something answers on ${host}:${port} (LOCAL_POSTGRES_ADDRESS) but does not let user postgres in without a password (${(error as Error).message}): set DATABASE_URL with its user and password, or point LOCAL_POSTGRES_ADDRESS at a free port to use the embedded PostgreSQL`,
    );
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/** The server answering on LOCAL_POSTGRES_ADDRESS, or else the embedded one, started now. */
export async function localPostgres({ root, env, urlVariable, say }: LocalPostgresOptions): Promise<LocalPostgres> {
  const probed = env.LOCAL_POSTGRES_ADDRESS || DEFAULT_LOCAL_POSTGRES_ADDRESS;
  const { host, port } = parseAddress(probed);
  const embeddedPort = parsePort(env.EMBEDDED_POSTGRES_PORT);
  const urlOn = (h: string, p: number) => (database: string) => `postgres://postgres@${h}:${p}/${encodeURIComponent(database)}`;

  if ((await probe(host, port)) === 'answers') {
    return {
      url: urlOn(host, port),
      description: `the PostgreSQL server on ${host}:${port}, because ${urlVariable} is not set and it answers there`,
      owned: false,
      stop: async () => {},
    };
  }
  const baseDir = join(root, '.cache', 'embedded-postgres');
  say(`nothing answers on ${host}:${port} and ${urlVariable} is not set: starting the embedded PostgreSQL`);
  const server = await startEmbeddedPostgres({ baseDir, port: embeddedPort, say });
  const how = {
    started: 'started',
    adopted: 'left running by an earlier run, stopped with this one',
    shared: 'shared with the run that started it',
  }[server.how];
  // Inside the clone: a short relative path; outside (root, clone out of user postgres's reach): the whole path.
  const inClone = relative(root, server.dataDir);
  const dataShown = inClone.startsWith('..') || isAbsolute(inClone) ? server.dataDir : inClone;
  return {
    url: urlOn('127.0.0.1', server.port),
    description: `the embedded PostgreSQL on 127.0.0.1:${server.port} (pid ${server.pid}, ${how}; data in ${dataShown}), because ${urlVariable} is not set and nothing answers on ${host}:${port}`,
    owned: server.how !== 'shared',
    stop: () => server.stop(),
  };
}
