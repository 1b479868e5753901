/**
 * `npm run dev -- --gateways N`: N gateway processes on free ports, one database and broker, behind the local
 * round-robin load balancer (scripts/load-balancer.ts) on the address one gateway would have had (HOST, PORT).
 * Each gateway's log lines are tagged with its number: a JSON line gets a `"gateway": n` field, any other line
 * (pino-pretty) a `gateway n | ` prefix.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { type LoadBalancer, startLoadBalancer } from './load-balancer.js';

export const MAX_GATEWAYS = 8;

/** The value of `--gateways N` (or `--gateways=N`) in `args`: 1 without it; an Error whose message is the one line to print. */
export function parseGatewayCount(args: readonly string[]): number | Error {
  let raw: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--gateways') {
      raw = args[i + 1] ?? '';
      i++;
    } else if (arg.startsWith('--gateways=')) {
      raw = arg.slice('--gateways='.length);
    } else {
      return new Error(`unknown argument "${arg}": the only option is --gateways N (1 to ${MAX_GATEWAYS})`);
    }
  }
  if (raw === undefined) return 1;
  const count = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(count) || count < 1 || count > MAX_GATEWAYS) {
    return new Error(`--gateways must be a whole number from 1 to ${MAX_GATEWAYS} (got "${raw}")`);
  }
  return count;
}

/** A log line of gateway `n`, tagged so the lines of several gateways can be told apart. */
export function tagLine(line: string, n: number): string {
  return line.startsWith('{"') ? `{"gateway":${n},${line.slice(1)}` : `gateway ${n} | ${line}`;
}

function pipeTagged(from: Readable | null, to: Writable, n: number): void {
  if (!from) return;
  createInterface({ input: from, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => to.write(`${tagLine(line, n)}\n`));
}

const freePort = (host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

export interface GatewayGroupOptions {
  readonly count: number;
  /** Where the balancer listens: the address a single gateway would have had. */
  readonly host: string;
  readonly port: number;
  /** Starts gateway `n` (1-based) on `port`. */
  readonly spawnGateway: (n: number, port: number) => ChildProcess;
  readonly say: (line: string) => void;
}

export interface GatewayGroup {
  readonly url: string;
  /** Resolves with the exit code of the last gateway to exit. */
  readonly exited: Promise<number>;
  /** SIGTERM to every gateway still running. */
  stop(): void;
  /** Closes the balancer and prints what it sent to each gateway. */
  close(): Promise<void>;
}

/** Starts the balancer first (a taken address fails before any gateway starts), then the gateways. */
export async function startGatewayGroup(options: GatewayGroupOptions): Promise<GatewayGroup> {
  const { count, host, say } = options;
  const ports: number[] = [];
  for (let n = 1; n <= count; n++) ports.push(await freePort('127.0.0.1'));
  const backends = ports.map((port) => `http://127.0.0.1:${port}`);
  const numberOf = (backend: string) => backends.indexOf(backend) + 1;
  const ready = new Set<string>();
  let balancer: LoadBalancer;
  let announced = false;
  let firstReady = () => {};
  try {
    balancer = await startLoadBalancer({
      backends,
      host,
      port: options.port,
      onChange: (backend, isReady) => {
        if (isReady && numberOf(backend) === 1) firstReady();
        if (isReady) ready.add(backend);
        else ready.delete(backend);
        say(
          `gateway ${numberOf(backend)} (${backend}) is ${isReady ? 'ready' : 'not ready'}: the balancer ${isReady ? 'sends' : 'no longer sends'} to it`,
        );
        if (!announced && ready.size === count) {
          announced = true;
          say(`${count} gateways behind the load balancer on ${balancer.url}: open ${balancer.url}/graphql`);
        }
      },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `${host}:${options.port} is already in use (the load balancer's address): stop what holds it, or set PORT to a free port`,
      );
    }
    throw error;
  }
  say(`load balancer on ${balancer.url}, round robin over ${count} gateways: ${backends.map((b, i) => `${i + 1} on ${b}`).join(', ')}`);

  const children: ChildProcess[] = [];
  let running = count;
  let lastCode = 0;
  let stopping = false;
  let resolveExited: (code: number) => void = () => {};
  const exited = new Promise<number>((resolve) => {
    resolveExited = resolve;
  });
  const spawnGateway = (n: number) => {
    const child = options.spawnGateway(n, ports[n - 1] as number);
    children.push(child);
    pipeTagged(child.stdout, process.stdout, n);
    pipeTagged(child.stderr, process.stderr, n);
    // 'close', not 'exit': it comes once the gateway's output is read to its end, so its last lines are not lost.
    child.once('close', (code, signal) => {
      lastCode = code ?? (signal ? 1 : 0);
      running--;
      if (n === 1) startOthers();
      if (!stopping && running > 0) say(`gateway ${n} exited (${signal ?? `code ${code}`}); the balancer sends to the others`);
      if (running === 0) resolveExited(lastCode);
    });
  };
  // The others start once the first is ready (or gone): it has applied the migrations and created the topic, so they
  // do not race it (a second CreateTopics logs a kafkajs error).
  let othersStarted = false;
  const startOthers = () => {
    if (othersStarted) return;
    othersStarted = true;
    if (stopping) {
      running -= count - 1;
      if (running === 0) resolveExited(lastCode);
      return;
    }
    for (let n = 2; n <= count; n++) spawnGateway(n);
  };
  firstReady = startOthers;
  spawnGateway(1);

  return {
    url: balancer.url,
    exited,
    stop() {
      stopping = true;
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
    async close() {
      await balancer.close();
      const sent = backends.map((b, i) => {
        const stats = balancer.stats.get(new URL(b).origin);
        return `gateway ${i + 1} got ${stats?.requests ?? 0} requests and ${stats?.upgrades ?? 0} websockets`;
      });
      say(`load balancer stopped: ${sent.join('; ')}`);
    },
  };
}
