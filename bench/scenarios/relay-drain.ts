import postgres from 'postgres';
import { localBroker } from '../../scripts/kafka/local-broker.js';
import { sleep } from '../lib/environment.js';
import { openAccounts, orderVariables, PLACE_ORDER } from '../lib/http-client.js';
import { openLoop } from '../lib/load.js';
import type { ResultTable } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import { startScenarioGateway } from '../lib/scenario-gateway.js';
import { round } from '../lib/stats.js';

/** A port unlikely to collide with the shared broker (9092) or the tests' private ones. */
const BROKER_PORT = Number(process.env.BENCH_PRIVATE_KAFKA_PORT ?? 19892);

interface Sample {
  at: number;
  pending: number;
  published: number;
}

/**
 * Orders at a steady rate while the suite's private broker is paused for a while, then resumed: the backlog the
 * outbox holds, the rate the relay drains it at (records published per second, the steady load included), and
 * the time from the broker's return until the outbox is back to its steady-state lag.
 */
export const relayDrain: Scenario = {
  name: 'relay-drain',
  title: 'relay drain after Kafka stopped under load',
  async run(context) {
    const { quick, progress, defer } = context;
    const rate = quick ? 200 : 500;
    const outageSeconds = quick ? 3 : 10;
    const beforeSeconds = quick ? 2 : 5;
    progress.update(`relay-drain: starting a private broker on 127.0.0.1:${BROKER_PORT}`);
    const broker = await localBroker(BROKER_PORT, { start: 'always', starting: (starting) => defer(() => starting.stop()) });
    const { client, database } = await startScenarioGateway(context, { name: 'relay-drain', brokers: broker.brokers, maxSockets: 128 });
    const accounts = await openAccounts(client, 'acc', 64);
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    defer(() => sql.end({ timeout: 5 }));

    const samples: Sample[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await sql<{ pending: number; published: number }[]>`
          select count(*) filter (where published_at is null)::int as pending, count(*) filter (where published_at is not null)::int as published
          from outbox`;
        samples.push({ at: performance.now(), pending: row?.pending ?? 0, published: row?.published ?? 0 });
        await sleep(100);
      }
    })();

    let sequence = 0;
    let pausedAt = 0;
    let resumedAt = 0;
    let recovered: Sample | undefined;
    const loadStarted = performance.now();
    const totalSeconds = beforeSeconds + outageSeconds + (quick ? 20 : 40);
    const steadyMax = () => Math.max(0, ...samples.filter((s) => s.at < pausedAt && s.at > loadStarted + 1000).map((s) => s.pending));
    const controller = (async () => {
      await sleep(beforeSeconds * 1000);
      broker.pause();
      pausedAt = performance.now();
      await sleep(outageSeconds * 1000);
      broker.resume();
      resumedAt = performance.now();
    })();
    const load = openLoop(
      rate,
      totalSeconds,
      (i) => client.call(PLACE_ORDER, orderVariables(accounts[i % accounts.length]!, `d-${sequence++}`)),
      () => {
        const last = samples.at(-1);
        const phase = resumedAt ? 'draining' : pausedAt ? 'Kafka paused' : 'steady';
        progress.update(`relay-drain: ${rate} orders/s, ${phase}, outbox pending ${last?.pending ?? '?'}`);
      },
      () => recovered !== undefined,
    );
    // Stop as soon as the outbox is back to its steady lag (no need to run the load to its end).
    while (!recovered) {
      await sleep(100);
      if (resumedAt && performance.now() - resumedAt > totalSeconds * 1000) break;
      if (!resumedAt) continue;
      const limit = Math.max(steadyMax(), 5);
      recovered = samples.find((s) => s.at > resumedAt && s.pending <= limit);
    }
    await controller;
    const result = await load.catch(() => null);
    sampling = false;
    await sampler;

    const atResume = samples.find((s) => s.at >= resumedAt);
    const backlog = Math.max(...samples.filter((s) => s.at >= pausedAt).map((s) => s.pending));
    const drainSeconds = recovered ? (recovered.at - resumedAt) / 1000 : Number.NaN;
    const drainRate = recovered && atResume ? (recovered.published - atResume.published) / drainSeconds : Number.NaN;
    const table: ResultTable = {
      title: `${rate} orders/s offered throughout; private broker paused (SIGSTOP) for ${outageSeconds} s, then resumed`,
      columns: [
        { key: 'what', label: 'what' },
        { key: 'backlog', label: 'largest backlog', unit: 'records' },
        { key: 'drainRate', label: 'drain rate', unit: 'records/s' },
        { key: 'vsOffered', label: 'drain rate over offered rate', unit: 'x' },
        { key: 'toZero', label: 'time to steady lag after resume', unit: 's' },
        { key: 'steady', label: 'steady-state lag', unit: 'records' },
        { key: 'failed', label: 'placeOrder failures', unit: 'calls' },
      ],
      rows: [
        {
          what: 'outbox relay',
          backlog,
          drainRate: round(drainRate),
          vsOffered: round(drainRate / rate),
          toZero: round(drainSeconds),
          steady: steadyMax(),
          failed: result?.errors ?? null,
        },
      ],
    };
    return {
      tables: [table],
      notes: [
        'The outbox is sampled every 100 ms from its own connection; "steady lag" is the most pending records seen before the pause.',
        'The drain rate counts every record published between the resume and the return to steady lag, new orders included.',
        ...(recovered ? [] : ['The outbox did not return to its steady lag before the load ended.']),
      ],
    };
  },
};
