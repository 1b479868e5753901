import { brokerAnswers } from '../scripts/kafka/broker-answers.js';
import { createScratchDatabase, uniqueName } from '../test/support/scratch.js';

export const ADMIN_DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const BENCH_SECRET = 'bench-secret-that-is-long-enough-for-hs256-0123456789';

export { uniqueName };

/** Stops the run with one line when no broker of KAFKA_BROKERS answers, instead of a kafkajs stack trace later. */
export async function requireKafka(): Promise<void> {
  const brokers = KAFKA_BROKERS.split(',').map((b) => {
    const [host = '', port = ''] = b.trim().split(/:(?=\d+$)/);
    return { host, port: Number(port) };
  });
  const answering = await Promise.all(brokers.map((b) => brokerAnswers(b.port, b.host)));
  if (!answering.includes(true)) {
    process.stderr.write(
      `bench: no Kafka broker answers at ${KAFKA_BROKERS}: start one with \`npm run kafka:start\`, or set KAFKA_BROKERS\n`,
    );
    process.exit(2);
  }
}

export async function withDatabase<T>(work: (url: string) => Promise<T>): Promise<T> {
  const database = await createScratchDatabase(ADMIN_DATABASE_URL, 'gkg_bench');
  try {
    return await work(database.url);
  } finally {
    await database.drop();
  }
}

/** Runs a benchmark: Kafka checked first, a scratch database for the run, a failure printed with exit code 1. */
export function runBench(work: (databaseUrl: string) => Promise<void>): void {
  (async () => {
    await requireKafka();
    await withDatabase(work);
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;

/** Runs `task(i)` for i < total with `concurrency` workers; returns elapsed ms and per-call latencies. */
export async function runConcurrently(total: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  const latencies: number[] = [];
  const started = performance.now();
  let lastProgress = started;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
        if (performance.now() - lastProgress > 2000) {
          lastProgress = performance.now();
          process.stderr.write(`  ... ${latencies.length}/${total}\n`);
        }
      }
    }),
  );
  return { elapsedMs: performance.now() - started, latencies: latencies.sort((a, b) => a - b) };
}

export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  console.table(rows);
}

/** The gateway as a child process, so its memory and CPU are its own. */
export async function startGateway(env: Record<string, string>) {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', 'src/main.ts'],
    {
      env: {
        ...process.env,
        NODE_ENV: 'production',
        PORT: '0',
        AUTH_JWT_SECRET: BENCH_SECRET,
        LOG_LEVEL: 'info',
        EXPLORER_ENABLED: 'false',
        // One load-generating caller would hit the per-caller limit: a benchmark measures the gateway, not its limit.
        RATE_LIMIT_PER_SECOND: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  // However the run ends (a failure included), it must not leave its gateway running.
  process.once('exit', () => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`gateway exited ${code}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.includes('"gateway is listening"')) resolve((JSON.parse(line) as { port: number }).port);
      }
    });
  });
  const { readFileSync } = await import('node:fs');
  return {
    url: `http://127.0.0.1:${port}`,
    /** Resident memory in MiB, from /proc. */
    rssMb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** POSTs an operation with a bearer token; throws on GraphQL errors. */
export function graphqlCaller(httpUrl: string, token: string) {
  return async (query: string, variables: unknown): Promise<Record<string, { id: string }> | undefined> => {
    const response = await fetch(`${httpUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as { errors?: unknown; data?: Record<string, { id: string }> };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
}
