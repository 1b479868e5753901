import { forkBenchChild } from '../lib/bench-child.js';
import { pollUntil, sleep } from '../lib/environment.js';
import { openAccounts, orderVariables, PLACE_ORDER } from '../lib/http-client.js';
import { pidListeningOn } from '../lib/listeners.js';
import { openLoop } from '../lib/load.js';
import { processMeter } from '../lib/proc.js';
import type { Cell, ResultTable } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import { startScenarioGateway } from '../lib/scenario-gateway.js';
import { round, summarize } from '../lib/stats.js';
import type { SwarmRequest, SwarmStatus } from '../lib/subscriber-swarm.js';
import { delayTracker, subscribeOrders, wsClient } from '../lib/subscribers.js';

/** Starts the swarm process and gives a typed request/answer channel to it. */
async function startSwarm(setup: Record<string, unknown>) {
  const child = await forkBenchChild<SwarmRequest, SwarmStatus>('bench/lib/subscriber-swarm.ts', 'SWARM_SETUP', setup, { type: 'close' });
  return {
    pid: child.pid,
    open: (count: number, since?: string) => child.send({ type: 'open', count, ...(since && { since }) }),
    status: () => child.ask({ type: 'status' }),
    close: () => child.close(),
  };
}

/** The engine issue's subscribe -> ready target holds while this many subscriptions join per second. */
const JOINS_PER_SECOND = 100;

/** Percent of one core a process used over `ms` of idleness. */
async function idleCpuPercent(meters: { cpuMs(): number }[], ms: number): Promise<number[]> {
  const before = meters.map((m) => m.cpuMs());
  await sleep(ms);
  return meters.map((m, i) => ((m.cpuMs() - (before[i] ?? 0)) / ms) * 100);
}

/**
 * The subscriber ramp: N graphql-ws subscriptions opened from a separate process (a tenth durable), in steps,
 * stopping at the first step that fails or exceeds its time bound. Per step: subscribe -> ready (first event),
 * gateway RSS growth per subscription, gateway and broker CPU while idle, and placeOrder -> event at ~100/s.
 * Subscriptions join at 100/s, the rate of the engine issue's subscribe -> ready target.
 */
export const subscriberScale: Scenario = {
  name: 'subscriber-scale',
  title: 'subscriber scale: the ramp until the engine gives out',
  async run(context) {
    const { quick, progress, defer } = context;
    const steps = quick ? [100, 200] : [1000, 2000, 5000, 10_000];
    // Past the time the joins take at the paced rate; a step that needs longer has given out.
    const slackMs = quick ? 20_000 : 30_000;
    const boundFor = (joins: number) => slackMs + (joins / JOINS_PER_SECOND) * 1000;
    const idleMs = quick ? 2000 : 3000;
    const latencySeconds = quick ? 3 : 5;
    const {
      server: gateway,
      brokers,
      token,
      client,
    } = await startScenarioGateway(context, {
      name: 'subscriber-scale',
      // One caller opens them all: a benchmark measures the engine, not the per-caller limit.
      env: { SUBSCRIPTIONS_PER_CALLER: '0' },
    });
    const [quiet, hot] = await openAccounts(client, 'acc', 2);
    const brokerPort = Number(brokers.split(',')[0]?.split(':')[1] ?? 9092);
    const brokerPid = pidListeningOn(brokerPort);
    const broker = brokerPid ? processMeter(brokerPid) : null;

    let sequence = 0;
    const place = (accountId: string) =>
      client.call<{ placeOrder: { id: string } }>(PLACE_ORDER, orderVariables(accountId, `s-${sequence++}`));
    const probe = delayTracker();
    const ws = wsClient(gateway.url, token);
    defer(async () => ws.dispose());
    const stopProbe = subscribeOrders(ws, { filter: { accountId: hot! } }, (id) => probe.arrived(id));
    defer(async () => stopProbe());
    const live = await pollUntil(
      async () => {
        probe.responded((await place(hot!)).placeOrder.id);
        return probe.count > 0;
      },
      60_000,
      100,
    );
    if (!live) throw new Error('the latency probe saw no event within 60 s');

    const [baseGatewayCpu = 0, baseBrokerCpu = Number.NaN] = await idleCpuPercent(broker ? [gateway, broker] : [gateway], idleMs);
    const baseRss = gateway.rssBytes();
    const swarm = await startSwarm({ url: gateway.url, token, accountId: quiet, perConnection: 1, perSecond: JOINS_PER_SECOND });
    defer(() => swarm.close());

    const rows: Record<string, Cell>[] = [
      {
        target: 0,
        status: 'baseline',
        rssMib: round(baseRss / 2 ** 20),
        gatewayIdle: round(baseGatewayCpu),
        brokerIdle: round(baseBrokerCpu),
      },
    ];
    let stoppedAt: string | null = null;
    let opened = 0;
    for (const target of steps) {
      const label = `subscriber-scale: ${target} subscriptions`;
      // Each step's subscriptions start `since` just before one order on the quiet account: ready = that order arrived.
      const since = new Date(Date.now() - 1).toISOString();
      await place(quiet!);
      const boundMs = boundFor(target - opened);
      swarm.open(target - opened, since);
      opened = target;
      const started = Date.now();
      let status = await swarm.status();
      // More orders on the quiet account only if some subscription still has none.
      while (status.ready < target && status.errors === 0 && Date.now() - started < boundMs) {
        await sleep(250);
        if (Date.now() - started > boundMs - slackMs / 2) await place(quiet!);
        status = await swarm.status();
        progress.update(`${label}: ${status.ready} ready, ${status.errors} errors, ${Math.round((Date.now() - started) / 1000)}s`);
      }
      const readiness = summarize(status.readyLatencies);
      if (status.ready < target || status.errors > 0) {
        stoppedAt = `${target}: ${status.ready} of ${status.open} ready, ${status.errors} errors after ${Math.round((Date.now() - started) / 1000)} s`;
        rows.push({ target, status: 'gave out', ready: status.ready, errors: status.errors, readyP50: round(readiness.p50) });
        break;
      }
      progress.update(`${label}: idle CPU`);
      const [gatewayIdle = 0, brokerIdle = Number.NaN] = await idleCpuPercent(broker ? [gateway, broker] : [gateway], idleMs);
      const rss = gateway.rssBytes();
      probe.reset();
      const load = await openLoop(
        100,
        latencySeconds,
        async () => probe.responded((await place(hot!)).placeOrder.id),
        () => progress.update(`${label}: placeOrder -> event at 100/s`),
      );
      await pollUntil(() => probe.count >= load.latencies.length, 10_000);
      const delay = summarize(probe.delays());
      rows.push({
        target,
        status: 'ok',
        ready: status.ready,
        errors: status.errors,
        readyP50: round(readiness.p50),
        readyP99: round(readiness.p99),
        rssMib: round(rss / 2 ** 20),
        perSubKib: round((rss - baseRss) / 1024 / target),
        gatewayIdle: round(gatewayIdle),
        brokerIdle: round(brokerIdle),
        eventP50: round(delay.p50),
        eventP99: round(delay.p99),
      });
    }
    const table: ResultTable = {
      title: `graphql-ws subscriptions from a separate process, one websocket each, joining at ${JOINS_PER_SECOND}/s, a tenth durable; a step's bound is ${boundFor(0) / 1000} s past its joins`,
      columns: [
        { key: 'status', label: 'step' },
        { key: 'target', label: 'subscriptions', unit: 'subscriptions' },
        { key: 'ready', label: 'ready', unit: 'subscriptions' },
        { key: 'errors', label: 'errors', unit: 'subscriptions' },
        { key: 'readyP50', label: 'subscribe -> ready p50', unit: 'ms' },
        { key: 'readyP99', label: 'subscribe -> ready p99', unit: 'ms' },
        { key: 'rssMib', label: 'gateway RSS', unit: 'MiB' },
        { key: 'perSubKib', label: 'RSS growth per subscription', unit: 'KiB' },
        { key: 'gatewayIdle', label: 'gateway idle CPU', unit: '% of a core' },
        { key: 'brokerIdle', label: 'broker idle CPU', unit: '% of a core' },
        { key: 'eventP50', label: 'placeOrder -> event p50 at 100/s', unit: 'ms' },
        { key: 'eventP99', label: 'placeOrder -> event p99 at 100/s', unit: 'ms' },
      ],
      rows,
    };
    return {
      tables: [table],
      notes: [
        'Ready: subscribe -> the first event, an order placed on the quiet account just after the `since` each subscription starts at.',
        "Latency is measured by one more subscription in the load generator, on another account, while the ramp's subscriptions stay open.",
        stoppedAt ? `The ramp stopped at ${stoppedAt}.` : 'The ramp completed every step.',
        brokerPid
          ? `Broker CPU from /proc of pid ${brokerPid} (the broker is shared with other work on this machine).`
          : 'No broker pid found: broker CPU not measured.',
      ],
    };
  },
};
