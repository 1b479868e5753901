import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type ProcessMeter, processMeter } from './proc.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BENCH_SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789';

export interface ChildServer extends ProcessMeter {
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  /** Lines the process wrote (stdout and stderr), the last 200. */
  readonly lines: readonly string[];
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * However the run ends (a failure, Ctrl-C), no server it started may outlive it. Signals are the runner's
 * (bench/run.ts): it stops what it started, then exits, and this hook kills what is left.
 */
function killAllOnExit() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/**
 * Starts a Node.js server script as a child process of its own, on a free loopback port, and resolves once it
 * logs `"gateway is listening"` with its port (pino's line, which the no-op baseline imitates).
 */
export async function startChildServer(
  script: string,
  env: Record<string, string>,
  nodeArgs: readonly string[] = [],
): Promise<ChildServer> {
  killAllOnExit();
  const child = spawn(process.execPath, [...nodeArgs, script], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  const port = await new Promise<number>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        if (lines.length > 200) lines.shift();
        if (!line.includes('"gateway is listening"')) continue;
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch {
          // a line that only mentions it
        }
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code, signal) =>
      reject(new Error(`${script} exited (${code ?? signal}) before listening:\n${lines.slice(-20).join('\n')}`)),
    );
  });
  const pid = child.pid as number;
  return {
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    lines,
    ...processMeter(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The built gateway (`node dist/main.js`, NODE_ENV=production, no rate limit, explorer off), with the node options of
 * BENCH_GATEWAY_NODE_ARGS and then `extraNodeArgs`. `fromSource` runs src/main.ts through tsx instead (the smoke run:
 * it measures nothing, so it needs no build).
 */
export function startGateway(env: Record<string, string>, extraNodeArgs: readonly string[] = [], fromSource = false): Promise<ChildServer> {
  const nodeArgs = [
    ...(fromSource ? ['--import', 'tsx'] : []),
    ...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ...extraNodeArgs,
  ];
  return startChildServer(
    fromSource ? 'src/main.ts' : 'dist/main.js',
    {
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: BENCH_SECRET,
      // The bench mints its tokens without audience, issuer or a lifetime bound; empty means unset, whatever the shell exports.
      AUTH_JWT_AUDIENCE: '',
      AUTH_JWT_ISSUER: '',
      AUTH_MAX_TOKEN_LIFETIME: '',
      // info: the "listening" line is how the suite learns the port; the gateway logs nothing per request.
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
      EXPLORER_ENABLED: 'false',
      // One load-generating caller would hit the per-caller limit: a benchmark measures the gateway, not its limit.
      RATE_LIMIT_PER_SECOND: '0',
      // Scenarios open thousands of subscriptions as one caller within a minute.
      SUBSCRIPTIONS_PER_CALLER_PER_MINUTE: '0',
      ...env,
    },
    nodeArgs,
  );
}
