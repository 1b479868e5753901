import { createServer, type Server } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgresError } from '../../scripts/embedded-postgres.js';
import { failureLine, namedFailure, ScriptFailure, wantsStackTraces } from '../../scripts/fail-in-one-line.js';
import { closedPort } from '../support/local-processes.js';

const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

/** The error a real client or server gives, caught. */
async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('failureLine', () => {
  it('should name a Kafka broker that does not answer, with where and how to start one', async () => {
    const port = await closedPort();
    const admin = new Kafka({ brokers: [`127.0.0.1:${port}`], logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    const error = await caught(() => admin.connect());
    const line = failureLine('demo', error);
    expect(line).toMatch(new RegExp(`^demo: Kafka at 127\\.0\\.0\\.1:${port} does not answer \\(KafkaJS\\w+: .*ECONNREFUSED`));
    expect(line).toContain('npm run kafka:start');
    expect(line).not.toContain('\n');
  });

  it('should name a port another program holds', async () => {
    const holder = createServer();
    servers.push(holder);
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    const second = createServer();
    const error = await new Promise<unknown>((resolve) => {
      second.once('error', resolve);
      second.listen(port, '127.0.0.1');
    });
    expect(failureLine('bench', error)).toBe(
      `bench: 127.0.0.1:${port} is taken by another program: stop it, or choose another port (PORT for the gateway, --kafka-port for a broker)`,
    );
  });

  it('should name a database that refuses connections, and say to set DATABASE_URL', async () => {
    const port = await closedPort();
    const sql = postgres({ host: '127.0.0.1', port, max: 1, connect_timeout: 2, onnotice: () => {} });
    const error = await caught(() => sql`select 1`);
    await sql.end();
    expect(failureLine('bench', error)).toMatch(
      new RegExp(`^bench: the database at 127\\.0\\.0\\.1:${port} does not answer \\(ECONNREFUSED\\): .*DATABASE_URL`),
    );
  });

  it("should give the server's reason when the database refuses a login or a name", () => {
    const error = Object.assign(new Error('database "nope" does not exist'), { name: 'PostgresError', code: '3D000' });
    expect(failureLine('dev', error)).toBe(
      'dev: the database refused: database "nope" does not exist (3D000): create it, or unset DATABASE_URL so the script creates its own',
    );
  });

  it('should find the named failure under a wrapping error', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED', address: '127.0.0.1', port: 9 });
    const line = failureLine('token', new Error('could not start', { cause: inner }));
    expect(line).toBe(
      'token: nothing answers on 127.0.0.1:9 (ECONNREFUSED): start what should listen there, or point the script at another address',
    );
  });

  it("should print a script's own failure and the embedded PostgreSQL's as they are", () => {
    expect(failureLine('dev', new ScriptFailure('PORT must be a port number'))).toBe('dev: PORT must be a port number');
    expect(failureLine('dev', new EmbeddedPostgresError('user postgres cannot reach the binaries'))).toBe(
      'dev: database: user postgres cannot reach the binaries',
    );
  });

  it('should keep an unknown error to its first line and say how to see the stack', () => {
    const error = new TypeError('first line\n    at somewhere (file.ts:1:1)');
    expect(namedFailure(error)).toBeUndefined();
    expect(failureLine('bench', error)).toBe('bench: TypeError: first line (run again with --verbose for the stack trace)');
    expect(failureLine('bench', 'a string')).toBe('bench: a string (run again with --verbose for the stack trace)');
  });
});

describe('wantsStackTraces', () => {
  it('should be asked for by --verbose or LOG_LEVEL=debug only', () => {
    expect(wantsStackTraces(['node', 'x', '--verbose'], {})).toBe(true);
    expect(wantsStackTraces(['node', 'x'], { LOG_LEVEL: 'debug' })).toBe(true);
    expect(wantsStackTraces(['node', 'x'], { LOG_LEVEL: 'info' })).toBe(false);
    expect(wantsStackTraces(['node', 'x'], {})).toBe(false);
  });
});
