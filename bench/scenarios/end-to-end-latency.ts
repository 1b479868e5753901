import { forkBenchChild } from '../lib/bench-child.js';
import { pollUntil, sleep } from '../lib/environment.js';
import type { ObserverAnswer, ObserverRequest } from '../lib/event-observer.js';
import { openAccounts, orderVariables, PLACE_ORDER } from '../lib/http-client.js';
import { openLoop } from '../lib/load.js';
import { monotonicMs } from '../lib/monotonic-clock.js';
import { latencyColumns, type ResultTable } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import { startScenarioGateway } from '../lib/scenario-gateway.js';
import { type LatencySummary, pairedDelays, ratio, round, summarize } from '../lib/stats.js';

const ACCOUNTS = 64;
/** The engine issue's comparison: with this many subscriptions, the gateway's p50 within 1.2x of a bare consumer's. */
const FAN_OUT_SUBSCRIPTIONS = 20;
const FAN_OUT_RATE = 200;

/**
 * Open-loop placeOrder at fixed offered rates; for each order, the delay from its response to its event at a
 * graphql-ws subscriber of the gateway, beside a bare kafkajs consumer of the same topic in the same run. Then the
 * same with 20 subscriptions, each on a websocket of its own. The consumer and the subscriptions run in an observer
 * process, apart from the load generator and the gateway, so that neither side's receiving is delayed by the load.
 */
export const endToEndLatency: Scenario = {
  name: 'end-to-end-latency',
  title: 'placeOrder response to event, at fixed offered rates',
  async run(context) {
    const { quick, progress, defer } = context;
    const rates = [200, 1000];
    const seconds = quick ? 3 : 20;
    const {
      server: gateway,
      brokers,
      topic,
      groupPrefix,
      token,
      client,
    } = await startScenarioGateway(context, {
      name: 'end-to-end-latency',
      // One caller opens all 20 subscriptions: the benchmark measures the engine, not the per-caller limit.
      env: { SUBSCRIPTIONS_PER_CALLER: '0' },
      maxSockets: 128,
    });
    const accounts = await openAccounts(client, 'acc', ACCOUNTS);

    progress.update('end-to-end-latency: starting the observer process');
    const observer = await forkBenchChild<ObserverRequest, ObserverAnswer>(
      'bench/lib/event-observer.ts',
      'OBSERVER_SETUP',
      { url: gateway.url, token, brokers, topic, groupId: `${groupPrefix}.bare` },
      { type: 'close' },
    );
    defer(() => observer.close());
    const received = async (): Promise<number[]> => {
      const answer = await observer.ask({ type: 'status' });
      return answer.type === 'status' ? answer.received : [];
    };
    const collect = async (): Promise<[string, number][][]> => {
      const answer = await observer.ask({ type: 'collect' });
      return answer.type === 'arrivals' ? answer.arrivals : [];
    };
    const respondedAt = new Map<string, number>();
    let sequence = 0;
    const place = async (i: number) => {
      const data = await client.call<{ placeOrder: { id: string } }>(
        PLACE_ORDER,
        orderVariables(accounts[i % ACCOUNTS]!, `e-${sequence++}`),
      );
      respondedAt.set(data.placeOrder.id, monotonicMs());
    };
    /** Orders until every receiver of the observer (LATEST: it sees only what follows its join) has seen one. */
    const untilAllReceive = async (what: string) => {
      observer.send({ type: 'reset' });
      const live = await pollUntil(
        async () => {
          await place(sequence);
          return (await received()).every((count) => count > 0);
        },
        60_000,
        100,
      );
      if (!live) throw new Error(`${what} saw no event within 60 s`);
    };
    /** Offered load at `rate`, then the delays of receivers 0 (the bare consumer) and 1.. (subscriptions). */
    const measure = async (rate: number, label: string) => {
      respondedAt.clear();
      observer.send({ type: 'reset' });
      const load = await openLoop(rate, seconds, place, (sent) => progress.update(`${label}, ${sent} sent`));
      if (load.errors > 0) throw new Error(`${load.errors} placeOrder calls failed, the first: ${String(load.firstError)}`);
      const expected = load.latencies.length;
      await pollUntil(async () => (await received()).every((count) => count >= expected), 30_000);
      const [bare = [], ...subscriptions] = await collect();
      return {
        load,
        achieved: round((expected / load.elapsedMs) * 1000),
        bare: summarize(pairedDelays(respondedAt, bare)),
        gateway: summarize(subscriptions.flatMap((arrivals) => pairedDelays(respondedAt, arrivals))),
      };
    };
    const overBare = (gateway: LatencySummary, bare: LatencySummary) => ({
      vs: round(gateway.p50 - bare.p50),
      ratio: round(ratio(gateway.p50, bare.p50)),
    });

    progress.update('end-to-end-latency: waiting for the subscriber and the consumer to join');
    await untilAllReceive('the subscriber or the bare consumer');
    const rows: Record<string, string | number | null>[] = [];
    for (const rate of rates) {
      const { load, achieved, bare, gateway: gw } = await measure(rate, `end-to-end-latency: ${rate} orders/s for ${seconds}s`);
      rows.push({ rate, achieved, what: 'placeOrder response (from when it was due)', ...summarize(load.latencies) });
      rows.push({ rate, achieved, what: 'response -> event, bare kafkajs consumer', ...bare });
      rows.push({ rate, achieved, what: 'response -> event, gateway graphql-ws subscriber', ...gw, ...overBare(gw, bare) });
      await sleep(500);
    }

    // 20 subscriptions, each its own websocket; every one of them must see every order.
    progress.update(`end-to-end-latency: opening ${FAN_OUT_SUBSCRIPTIONS} subscriptions`);
    observer.send({ type: 'open', count: FAN_OUT_SUBSCRIPTIONS - 1 });
    await untilAllReceive(`one of the ${FAN_OUT_SUBSCRIPTIONS} subscriptions`);
    const fanOutLabel = `end-to-end-latency: ${FAN_OUT_SUBSCRIPTIONS} subscriptions, ${FAN_OUT_RATE} orders/s for ${seconds}s`;
    const fanOut = await measure(FAN_OUT_RATE, fanOutLabel);
    const fanOutRows: Record<string, string | number | null>[] = [
      { rate: FAN_OUT_RATE, achieved: fanOut.achieved, what: 'response -> event, bare kafkajs consumer', ...fanOut.bare },
      {
        rate: FAN_OUT_RATE,
        achieved: fanOut.achieved,
        what: `response -> event, all ${FAN_OUT_SUBSCRIPTIONS} gateway subscribers`,
        ...fanOut.gateway,
        ...overBare(fanOut.gateway, fanOut.bare),
      },
    ];
    const table: ResultTable = {
      title: `open loop, ${seconds} s per rate, over ${ACCOUNTS} accounts; one subscriber and one consumer, both unfiltered`,
      columns: [
        { key: 'what', label: 'what' },
        { key: 'rate', label: 'offered', unit: 'orders/s' },
        { key: 'achieved', label: 'achieved', unit: 'orders/s' },
        { key: 'count', label: 'samples', unit: 'orders' },
        ...latencyColumns(),
        { key: 'vs', label: 'p50 over the bare consumer', unit: 'ms' },
        { key: 'ratio', label: 'p50 / bare consumer p50', unit: 'x' },
      ],
      rows,
    };
    const fanOutTable: ResultTable = {
      title: `${FAN_OUT_SUBSCRIPTIONS} unfiltered graphql-ws subscriptions, one websocket each, beside one bare kafkajs consumer; open loop, ${seconds} s`,
      columns: table.columns,
      rows: fanOutRows,
    };
    return {
      tables: [table, fanOutTable],
      notes: [
        'The bare consumer and the subscriptions run in one observer process of their own, apart from the load generator; arrivals are timed on the monotonic clock both processes share.',
        'An event that arrives before its placeOrder response counts as 0 ms (the response is written after the commit).',
        `With ${FAN_OUT_SUBSCRIPTIONS} subscriptions, the gateway's figures pool every subscriber's delay of every order (${FAN_OUT_SUBSCRIPTIONS} samples per order).`,
        'A delay sample is missing when the event did not arrive within 30 s of the last order; compare samples with the orders sent.',
      ],
    };
  },
};
