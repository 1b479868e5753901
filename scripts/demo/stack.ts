/** What the demo stands on besides the local broker (scripts/kafka/local-broker.ts): the database and the gateway. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';

export const root = fileURLToPath(new URL('../..', import.meta.url));

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` returns something, or throws after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

export async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    const found = await sql`select 1 from pg_database where datname = ${name}`;
    if (found.length === 0) await sql.unsafe(`create database "${name.replaceAll('"', '""')}"`);
  } finally {
    await sql.end();
  }
}

/** Waits until the gateway created its topic and every partition has a leader. */
export async function untilTopicReady(brokers: string[], topic: string, timeoutMs = 60_000): Promise<void> {
  const admin = new Kafka({ clientId: 'demo-setup', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await until(
      `topic ${topic}`,
      async () => {
        const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
        const partitions = topics[0]?.partitions ?? [];
        return partitions.length > 0 && partitions.every((p) => p.leader >= 0) ? true : undefined;
      },
      timeoutMs,
    );
  } finally {
    await admin.disconnect();
  }
}

/**
 * Creates `topic` unless it exists: the top-up system's topic belongs to it, not to the gateway, which only reads it
 * (a declared topic that does not exist yet would only make the gateway's subscriptions wait for it).
 */
export async function ensureTopic(brokers: string[], topic: string, numPartitions: number): Promise<void> {
  const admin = new Kafka({ clientId: 'demo-setup', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    // false when it exists already (a demo run before this one).
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

export interface Gateway {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Runs the gateway as `npm run dev` does (src/main.ts through tsx, NODE_ENV=development); its log goes to `logFile`. */
export async function startGateway(env: Record<string, string>, logFile: string): Promise<Gateway> {
  mkdirSync(join(logFile, '..'), { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'development', PORT: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let port: number | undefined;
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    log.write(chunk);
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'gateway is listening') port = entry.port;
      } catch {
        // not JSON
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => log.write(chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(force);
    log.end();
  };
  try {
    const listening = await Promise.race([
      until('the gateway to listen', () => port, 90_000),
      exited.then(() => {
        throw new Error(`gateway exited ${child.exitCode}; see ${logFile}`);
      }),
    ]);
    return { url: `http://127.0.0.1:${listening}`, pid: child.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Removes what a run left in Kafka (a test's topics and groups); a broker that does not answer is left alone. */
export async function deleteTopicsAndGroups(brokers: string[], topics: string[], groups: string[]): Promise<void> {
  const admin = new Kafka({ clientId: 'demo-cleanup', brokers, logLevel: logLevel.NOTHING, retry: { retries: 2 } }).admin();
  await admin.connect();
  try {
    await admin.deleteGroups(groups).catch(() => {});
    await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}
