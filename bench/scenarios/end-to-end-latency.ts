import { mintAccessToken } from '../../src/adapters/auth/access-tokens.js';
import { BENCH_SECRET, startGateway } from '../lib/child-server.js';
import {
  KAFKA_BROKERS,
  loadNote,
  migratedScratchDatabase,
  pollUntil,
  removeKafkaResources,
  sleep,
  uniqueName,
} from '../lib/environment.js';
import { graphqlClient, openAccounts, orderVariables, PLACE_ORDER } from '../lib/http-client.js';
import { openLoop } from '../lib/load.js';
import type { ResultTable } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import { ratio, round, summarize } from '../lib/stats.js';
import { bareConsumer, delayTracker, subscribeOrders, wsClient } from '../lib/subscribers.js';

const ACCOUNTS = 64;
/** The engine issue's comparison: with this many subscriptions, the gateway's p50 within 1.2x of a bare consumer's. */
const FAN_OUT_SUBSCRIPTIONS = 20;
const FAN_OUT_RATE = 200;

/**
 * Open-loop placeOrder at fixed offered rates; for each order, the delay from its response to its event at a
 * graphql-ws subscriber of the gateway, beside a bare kafkajs consumer of the same topic in the same run. Then the
 * same with 20 subscriptions, each on a websocket of its own (in this process, not the gateway's).
 */
export const endToEndLatency: Scenario = {
  name: 'end-to-end-latency',
  title: 'placeOrder response to event, at fixed offered rates',
  async run({ quick, progress, defer }) {
    const loadAtStart = loadNote('when the scenario started');
    const rates = [200, 1000];
    const seconds = quick ? 3 : 20;
    const database = await migratedScratchDatabase();
    defer(() => database.drop());
    const topic = uniqueName('bench-e2e').replaceAll('_', '-');
    const groupPrefix = uniqueName('bench').replaceAll('_', '-');
    defer(() => removeKafkaResources(KAFKA_BROKERS, [topic], `${groupPrefix}.`));
    progress.update('end-to-end-latency: starting the gateway');
    const gateway = await startGateway({
      DATABASE_URL: database.url,
      KAFKA_BROKERS,
      ORDERS_TOPIC: topic,
      KAFKA_GROUP_PREFIX: groupPrefix,
      // One caller opens all 20 subscriptions: the benchmark measures the engine, not the per-caller limit.
      SUBSCRIPTIONS_PER_CALLER: '0',
    });
    defer(() => gateway.stop());
    const token = await mintAccessToken(BENCH_SECRET, { sub: 'bench', scope: ['accounts:write', 'orders:write', 'orders:read:all'] });
    const client = graphqlClient(gateway.url, { token, maxSockets: 128 });
    defer(async () => client.close());
    const accounts = await openAccounts(client, 'acc', ACCOUNTS);

    const viaGateway = delayTracker();
    const viaKafka = delayTracker();
    /** Every tracker placeOrder responses are paired in (the fan-out step adds its subscribers'). */
    const trackers = [viaGateway, viaKafka];
    const ws = wsClient(gateway.url, token);
    defer(async () => ws.dispose());
    const stop = subscribeOrders(ws, {}, (id) => viaGateway.arrived(id));
    defer(async () => {
      stop();
    });
    const consumer = await bareConsumer(KAFKA_BROKERS, topic, `${groupPrefix}.bare`, (id) => viaKafka.arrived(id));
    defer(() => consumer.disconnect());

    let sequence = 0;
    const place = async (i: number) => {
      const data = await client.call<{ placeOrder: { id: string } }>(
        PLACE_ORDER,
        orderVariables(accounts[i % ACCOUNTS]!, `e-${sequence++}`),
      );
      for (const tracker of trackers) tracker.responded(data.placeOrder.id);
    };
    // LATEST subscribers see only what follows their join: orders until both have seen some.
    progress.update('end-to-end-latency: waiting for the subscriber and the consumer to join');
    const live = await pollUntil(
      async () => {
        await place(sequence);
        return viaGateway.count > 0 && viaKafka.count > 0;
      },
      60_000,
      100,
    );
    if (!live) throw new Error('the subscriber or the bare consumer saw no event within 60 s');

    const rows: Record<string, string | number | null>[] = [];
    for (const rate of rates) {
      viaGateway.reset();
      viaKafka.reset();
      const label = `end-to-end-latency: ${rate} orders/s for ${seconds}s`;
      const load = await openLoop(rate, seconds, place, (sent) => progress.update(`${label}, ${sent} sent`));
      if (load.errors > 0) throw new Error(`${load.errors} placeOrder calls failed, the first: ${String(load.firstError)}`);
      const expected = load.latencies.length;
      await pollUntil(() => viaGateway.count >= expected && viaKafka.count >= expected, 30_000);
      const response = summarize(load.latencies);
      const achieved = round((expected / load.elapsedMs) * 1000);
      rows.push({ rate, achieved, what: 'placeOrder response (from when it was due)', ...response });
      const bare = summarize(viaKafka.delays());
      const gw = summarize(viaGateway.delays());
      rows.push({ rate, achieved, what: 'response -> event, bare kafkajs consumer', ...bare });
      rows.push({
        rate,
        achieved,
        what: 'response -> event, gateway graphql-ws subscriber',
        ...gw,
        vs: round(gw.p50 - bare.p50),
        ratio: round(ratio(gw.p50, bare.p50)),
      });
      await sleep(500);
    }

    // 20 subscriptions, each its own websocket; every one of them must see every order.
    progress.update(`end-to-end-latency: opening ${FAN_OUT_SUBSCRIPTIONS} subscriptions`);
    const fanOut = Array.from({ length: FAN_OUT_SUBSCRIPTIONS - 1 }, () => {
      const tracker = delayTracker();
      const socket = wsClient(gateway.url, token);
      const unsubscribe = subscribeOrders(socket, {}, (id) => tracker.arrived(id));
      defer(async () => {
        unsubscribe();
        await socket.dispose();
      });
      return tracker;
    });
    trackers.push(...fanOut);
    const fanOutTrackers = [viaGateway, ...fanOut];
    const joined = await pollUntil(
      async () => {
        await place(sequence);
        return fanOut.every((t) => t.count > 0);
      },
      60_000,
      100,
    );
    if (!joined) throw new Error(`not all ${FAN_OUT_SUBSCRIPTIONS} subscriptions saw an event within 60 s`);
    for (const tracker of [...fanOutTrackers, viaKafka]) tracker.reset();
    const fanOutLabel = `end-to-end-latency: ${FAN_OUT_SUBSCRIPTIONS} subscriptions, ${FAN_OUT_RATE} orders/s for ${seconds}s`;
    const fanOutLoad = await openLoop(FAN_OUT_RATE, seconds, place, (sent) => progress.update(`${fanOutLabel}, ${sent} sent`));
    if (fanOutLoad.errors > 0) throw new Error(`${fanOutLoad.errors} placeOrder calls failed, the first: ${String(fanOutLoad.firstError)}`);
    const fanOutExpected = fanOutLoad.latencies.length;
    await pollUntil(() => viaKafka.count >= fanOutExpected && fanOutTrackers.every((t) => t.count >= fanOutExpected), 30_000);
    const fanOutAchieved = round((fanOutExpected / fanOutLoad.elapsedMs) * 1000);
    const fanOutBare = summarize(viaKafka.delays());
    const fanOutGateway = summarize(fanOutTrackers.flatMap((t) => t.delays()));
    const fanOutRows: Record<string, string | number | null>[] = [
      { rate: FAN_OUT_RATE, achieved: fanOutAchieved, what: 'response -> event, bare kafkajs consumer', ...fanOutBare },
      {
        rate: FAN_OUT_RATE,
        achieved: fanOutAchieved,
        what: `response -> event, all ${FAN_OUT_SUBSCRIPTIONS} gateway subscribers`,
        ...fanOutGateway,
        vs: round(fanOutGateway.p50 - fanOutBare.p50),
        ratio: round(ratio(fanOutGateway.p50, fanOutBare.p50)),
      },
    ];
    const table: ResultTable = {
      title: `open loop, ${seconds} s per rate, over ${ACCOUNTS} accounts; one subscriber and one consumer, both unfiltered`,
      columns: [
        { key: 'what', label: 'what' },
        { key: 'rate', label: 'offered', unit: 'orders/s' },
        { key: 'achieved', label: 'achieved', unit: 'orders/s' },
        { key: 'count', label: 'samples', unit: 'orders' },
        { key: 'p50', label: 'p50', unit: 'ms' },
        { key: 'p95', label: 'p95', unit: 'ms' },
        { key: 'p99', label: 'p99', unit: 'ms' },
        { key: 'max', label: 'max', unit: 'ms' },
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
      name: this.name,
      title: this.title,
      tables: [table, fanOutTable],
      notes: [
        loadAtStart,
        loadNote('when it ended'),
        'An event that arrives before its placeOrder response counts as 0 ms (the response is written after the commit).',
        `With ${FAN_OUT_SUBSCRIPTIONS} subscriptions, the gateway's figures pool every subscriber's delay of every order (${FAN_OUT_SUBSCRIPTIONS} samples per order).`,
        'A delay sample is missing when the event did not arrive within 30 s of the last order; compare samples with the orders sent.',
      ],
    };
  },
};
