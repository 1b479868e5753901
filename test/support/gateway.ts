import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { mintAccessToken, type TokenClaims } from '../../src/adapters/auth/access-tokens.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { GiveUp, waitFor } from './resources.js';

export const TEST_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';
const root = fileURLToPath(new URL('../..', import.meta.url));

export interface GatewayEnv {
  DATABASE_URL: string;
  KAFKA_BROKERS: string;
  ORDERS_TOPIC: string;
  [key: string]: string;
}

export const token = (claims: TokenClaims, secret = TEST_SECRET) => mintAccessToken(secret, claims);
export const adminToken = () => token({ sub: 'admin', scope: ['accounts:write', 'orders:write', 'orders:read:all'] });

/** The gateway in this process, on a free port; real Postgres and Kafka. `logLines` holds what it logged at error level. */
export async function startInProcessGateway(env: GatewayEnv) {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    AUTH_JWT_SECRET: TEST_SECRET,
    RELAY_POLL_MS: '200',
    // Nothing balances load in front of a test gateway: no reason to wait before closing sockets.
    DRAIN_DELAY_MS: '0',
    ...env,
  });
  const logLines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => void logLines.push(line) });
  const app = await buildApp(config, logger);
  const address = await app.start();
  const url = `http://127.0.0.1:${address.port}`;
  return { url, app, logLines, stop: () => app.stop() };
}

/** The gateway as a real child process (for SIGKILL and multi-process tests); no drain delay unless `env` sets one. */
export async function startGatewayProcess(env: GatewayEnv) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      PORT: '0',
      AUTH_JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: 'info',
      RELAY_POLL_MS: '200',
      DRAIN_DELAY_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let port: number | undefined;
  const read = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      lines.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'gateway is listening') port = entry.port;
      } catch {
        // not JSON: kept in lines for the failure message
      }
    }
  };
  child.stdout?.on('data', read);
  child.stderr?.on('data', read);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const listening = await waitFor(
    'the gateway process to listen',
    () => {
      if (child.exitCode !== null) throw new GiveUp(`gateway exited ${child.exitCode}:\n${lines.join('\n')}`);
      return port;
    },
    60_000,
  ).catch(async (error: unknown) => {
    // Never leave a process behind that no test will kill.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  });
  return {
    url: `http://127.0.0.1:${listening}`,
    pid: child.pid,
    lines,
    exited,
    /** Null while the process runs; else its exit code or the signal that ended it. */
    exitCode: (): number | NodeJS.Signals | null => child.exitCode ?? child.signalCode,
    logged: (msg: string) => lines.some((l) => l.includes(msg)),
    kill: async (signal: NodeJS.Signals = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; [k: string]: unknown } }[];
}

/** POST /graphql. */
export async function graphql<T = Record<string, any>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  bearer?: string,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(bearer && { authorization: `Bearer ${bearer}` }) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: response.status, ...body };
}

export const errorCode = (response: GraphQLResponse): string | undefined => response.errors?.[0]?.extensions?.code;
