import { pollUntil } from '../lib/environment.js';
import { openAccounts, orderVariables, PLACE_ORDER } from '../lib/http-client.js';
import { latencyColumns } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import { startScenarioGateway } from '../lib/scenario-gateway.js';
import { summarize } from '../lib/stats.js';
import { delayTracker, subscribeOrders, wsClient } from '../lib/subscribers.js';

const ORDERS = 20;

/**
 * `npm run bench -- --smoke`: the shortest run that still goes the whole way (the run's broker and database, a
 * gateway, placeOrder, a subscriber's events, the clean-up). It checks that the bench can run here, in well under a
 * minute; its figures mean nothing, so the runner does not write them. The gateway runs from source: no build.
 */
export const smoke: Scenario = {
  name: 'smoke',
  title: `smoke: ${ORDERS} orders and their events through a gateway run from source`,
  async run(context) {
    const { server, token, client } = await startScenarioGateway(context, { name: 'smoke', fromSource: true });
    const [account] = await openAccounts(client, 'acc', 1);
    const ws = wsClient(server.url, token);
    context.defer(async () => ws.dispose());
    const tracker = delayTracker();
    const stop = subscribeOrders(ws, {}, (id) => tracker.arrived(id));
    context.defer(async () => stop());
    let sequence = 0;
    const place = async () =>
      tracker.responded(
        (await client.call<{ placeOrder: { id: string } }>(PLACE_ORDER, orderVariables(account!, `smoke-${sequence++}`))).placeOrder.id,
      );
    // The subscription starts at the topic's end: orders until one arrives say it has joined.
    const joined = await pollUntil(
      async () => {
        await place();
        return tracker.count > 0;
      },
      60_000,
      200,
    );
    if (!joined) throw new Error('the subscriber saw no event within 60 s');
    tracker.reset();
    for (let i = 0; i < ORDERS; i++) await place();
    if (!(await pollUntil(() => tracker.count >= ORDERS, 30_000)))
      throw new Error(`${tracker.count} of ${ORDERS} events arrived within 30 s`);
    return {
      tables: [
        {
          title: `${ORDERS} orders placed one after another, one unfiltered subscriber`,
          columns: [{ key: 'what', label: 'what' }, { key: 'count', label: 'events', unit: 'events' }, ...latencyColumns(['p50', 'max'])],
          rows: [{ what: 'placeOrder response -> event', ...summarize(tracker.delays()) }],
        },
      ],
      notes: ['A smoke run checks the path, not the speed: its gateway runs from source through tsx.'],
    };
  },
};
