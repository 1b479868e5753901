import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topUpStatus } from '../../examples/support/top-up.js';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { processAlive as alive, collectOutput } from '../support/local-processes.js';
import { privatePort } from '../support/private-ports.js';
import { createTestDatabase, uniqueName, waitFor } from '../support/resources.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** The demo's private broker: it pauses it (SIGSTOP), so never the shared one. */
const PRIVATE_KAFKA_PORT = privatePort('demoKafka');

interface SystemSummary {
  distinctEvents: number;
  delivered: number;
  orderIds: string[];
  topUps?: number;
  done?: number;
  failed?: number;
  differences?: number;
  checks?: number;
  lines?: number;
}

interface NotifySummary extends SystemSummary {
  /** Orders whose top-up outcome it has. */
  topUpOrderIds: string[];
  charged: number;
  toppedUp: number;
  topUpFailed: number;
  held: number;
}

interface Summary {
  runId: string;
  caughtUp: boolean;
  generator: { settled: number; refused: number };
  database: { settledCount: number; settledIds: string[]; phoneTopupIds: string[] };
  systems: Record<'topup' | 'recon' | 'clearing' | 'analytics', SystemSummary> & { notify: NotifySummary };
  startedPids: number[];
  faults: { done: { kills: number; pauses: number } };
}

const cleanups = cleanupList();
let databaseUrl: string;
let stateDir: string;

beforeAll(async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  databaseUrl = db.url;
  stateDir = mkdtempSync(join(tmpdir(), 'gkg-demo-'));
  cleanups.push(() => rmSync(stateDir, { recursive: true, force: true }));
});

afterAll(() => cleanups.run());

describe('npm run demo, headless', () => {
  it('should have every settled order and every top-up in each downstream system exactly once after systems are SIGKILLed and Kafka is paused', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const name = uniqueName('demo').replaceAll('_', '-');
    const demo = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'scripts/demo/demo.ts',
        // recon is killed early, notify and topup late; each resumes after the cursors it saved with its last events.
        ...['--json', '--seconds', '16', '--rate', '6', '--kill', 'recon@4', '--kill', 'notify@10', '--kill', 'topup@12'],
        ...['--pause-kafka', '6:3'],
        ...['--kafka-port', String(PRIVATE_KAFKA_PORT), '--state-dir', stateDir, '--catch-up-seconds', '60', '--delete-topic'],
      ],
      {
        cwd: root,
        env: {
          ...process.env,
          DATABASE_URL: databaseUrl,
          ORDERS_TOPIC: name,
          TOPUPS_TOPIC: `${name}.topups`,
          KAFKA_GROUP_PREFIX: name,
          ANALYTICS_GROUP: `${name}.analytics`,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      },
    );
    const output = collectOutput(demo);
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      // Only if the test failed midway: the demo stops what it started when it gets SIGTERM.
      if (demo.exitCode === null && demo.signalCode === null) demo.kill('SIGTERM');
      await exited;
    });

    const code = await waitFor(
      'the demo to finish',
      () => (demo.exitCode !== null || demo.signalCode !== null ? exited : undefined),
      200_000,
    );
    expect(code, output.stderr()).toBe(0);
    const summary = JSON.parse(output.stdout().trim().split('\n').at(-1)!) as Summary;
    expect(summary.caughtUp).toBe(true);
    expect(summary.faults.done).toEqual({ kills: 3, pauses: 1 });

    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    cleanups.push(() => sql.end());
    const rows = await sql<
      { id: string; product: string; reference: string | null }[]
    >`select id, product, reference from orders where account_id like ${`demo-${summary.runId}-%`}`;
    const settled = rows.map((r) => r.id).sort();
    const topUps = rows
      .filter((r) => r.product === 'phone-topup')
      .map((r) => r.id)
      .sort();
    expect(settled.length).toBeGreaterThan(20);
    expect(topUps.length).toBeGreaterThan(0);
    expect(topUps.length).toBeLessThan(settled.length);
    expect(summary.generator.refused).toBeGreaterThan(0);
    expect([...summary.database.settledIds].sort()).toEqual(settled);

    // A killed system comes back after its own cursor (COMMITTED could skip what was in its socket buffer), or from
    // EARLIEST when it had applied nothing yet; topup, killed at 12 s, has events by then.
    // notify, killed at 10 s, follows both fields as one subscriber, and resumes each after its own cursor.
    const follows = [
      ['recon', 'orderSettled', 'demo'],
      ['topup', 'orderSettled', 'demo'],
      ['notify', 'orderSettled', 'notifications'],
      ['notify', 'topupCompleted', 'notifications'],
    ] as const;
    for (const [system, field, subscriberId] of follows) {
      const log = readFileSync(join(stateDir, system, 'process.log'), 'utf8');
      const starts = [...log.matchAll(new RegExp(`subscribing to ${field} as ${subscriberId} from (.+)`, 'g'))].map((m) => m[1]);
      const which = `${system} ${field}`;
      expect(starts[0], which).toBe('EARLIEST');
      expect(starts.length, which).toBeGreaterThan(1);
      expect(starts, which).not.toContain('COMMITTED');
      if (system !== 'recon') expect(starts.slice(1), which).toContain('its last cursor');
    }

    // Exactly once after deduplication: one distinct event per settled order, none missing, none extra.
    for (const system of ['recon', 'clearing', 'analytics'] as const) {
      expect([...summary.systems[system].orderIds].sort(), system).toEqual(settled);
      expect(summary.systems[system].distinctEvents, system).toBe(settled.length);
    }
    expect([...summary.systems.topup.orderIds].sort()).toEqual(topUps);
    expect(summary.systems.topup.topUps).toBe(topUps.length);
    expect(summary.systems.recon.differences).toBe(0);

    // The top-up system published one outcome per top-up, by its own rule; some failed.
    const failing = rows
      .filter((r) => r.product === 'phone-topup' && topUpStatus(r.reference ?? '') === 'FAILED')
      .map((r) => r.id)
      .sort();
    expect(failing.length).toBeGreaterThan(0);
    expect(failing.length).toBeLessThan(topUps.length);
    expect(summary.systems.topup.failed).toBe(failing.length);
    expect(summary.systems.topup.done).toBe(topUps.length - failing.length);

    // notify, through the gateway on two topics: every order charged once, every top-up's outcome once, none held.
    const notify = summary.systems.notify;
    expect([...notify.orderIds].sort()).toEqual(settled);
    expect(notify.charged).toBe(settled.length);
    expect([...notify.topUpOrderIds].sort()).toEqual(topUps);
    expect(notify.toppedUp).toBe(topUps.length - failing.length);
    expect(notify.topUpFailed).toBe(failing.length);
    expect(notify.held).toBe(0);
    const told = JSON.parse(readFileSync(join(stateDir, 'notify', 'state.json'), 'utf8')) as {
      figure: { orders: Record<string, { charged: boolean; topUp?: string }> };
    };
    const toldFailed = Object.entries(told.figure.orders)
      .filter(([, o]) => o.topUp === 'FAILED')
      .map(([id]) => id)
      .sort();
    expect(toldFailed).toEqual(failing);
    expect(summary.systems.recon.checks).toBeGreaterThan(0);

    // The systems' own files, not only the summary.
    const topupState = JSON.parse(readFileSync(join(stateDir, 'topup', 'state.json'), 'utf8')) as { applied: Record<string, string> };
    expect(Object.values(topupState.applied).sort()).toEqual(topUps);
    const lines = readFileSync(join(stateDir, 'analytics', 'orders.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean);
    expect(lines.length).toBe(settled.length);
    expect(lines.map((l) => (JSON.parse(l) as { orderId: string }).orderId).sort()).toEqual(settled);

    // The broker, the gateway and every system process (the killed one and its successor) are gone.
    expect(summary.startedPids.length).toBeGreaterThanOrEqual(10);
    expect(summary.startedPids.filter(alive)).toEqual([]);
  });
});
