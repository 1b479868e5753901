import { pollUntil } from '../lib/environment.js';
import { openAccounts, orderVariables, PLACE_ORDER } from '../lib/http-client.js';
import { latencyColumns } from '../lib/results.js';
import type { Scenario } from '../lib/scenario.js';
import { startScenarioGateway } from '../lib/scenario-gateway.js';
import { openSecondTopic, SECOND_FIELD, SECOND_READ_SCOPE } from '../lib/second-topic.js';
import { summarize } from '../lib/stats.js';
import { delayTracker, subscribeOrders, wsClient } from '../lib/subscribers.js';
import { subscribeField } from '../lib/topic-fields.js';

const ORDERS = 20;

/**
 * `npm run bench -- --smoke`: the shortest run that still goes the whole way (the run's broker and database, a
 * gateway, placeOrder, a subscriber's events, the bench's second declared topic as subscriber-scale uses it, the
 * clean-up). It checks that the bench can run here, in well under a minute; its figures mean nothing, so the runner
 * does not write them. The gateway runs from source: no build.
 */
export const smoke: Scenario = {
  name: 'smoke',
  title: `smoke: ${ORDERS} orders, ${ORDERS} records of a second declared topic and their events through a gateway run from source`,
  async run(context) {
    const second = await openSecondTopic(context, 'smoke');
    const { server, token, client } = await startScenarioGateway(context, {
      name: 'smoke',
      fromSource: true,
      env: second.env,
      readScopes: [SECOND_READ_SCOPE],
    });
    const [account] = await openAccounts(client, 'acc', 1);
    const ws = wsClient(server.url, token);
    context.defer(async () => ws.dispose());
    const tracker = delayTracker();
    const stop = subscribeOrders(ws, {}, (id) => tracker.arrived(id));
    context.defer(async () => stop());
    const readings = delayTracker();
    const stopReadings = subscribeField(ws, SECOND_FIELD, {}, (id) => readings.arrived(id));
    context.defer(async () => stopReadings());
    const publish = async () => readings.responded(await second.publish(account!));
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
    const readingsJoined = await pollUntil(
      async () => {
        await publish();
        return readings.count > 0;
      },
      60_000,
      200,
    );
    if (!readingsJoined) throw new Error(`the ${SECOND_FIELD.field} subscriber saw no event within 60 s`);
    tracker.reset();
    readings.reset();
    for (let i = 0; i < ORDERS; i++) await Promise.all([place(), publish()]);
    if (!(await pollUntil(() => tracker.count >= ORDERS && readings.count >= ORDERS, 30_000)))
      throw new Error(`${tracker.count} of ${ORDERS} orders and ${readings.count} of ${ORDERS} readings arrived within 30 s`);
    return {
      tables: [
        {
          title: `${ORDERS} orders placed one after another, beside ${ORDERS} records published to a second declared topic; one unfiltered subscriber of each`,
          columns: [{ key: 'what', label: 'what' }, { key: 'count', label: 'events', unit: 'events' }, ...latencyColumns(['p50', 'max'])],
          rows: [
            { what: 'placeOrder response -> event', ...summarize(tracker.delays()) },
            { what: `${SECOND_FIELD.field}: producer ack -> event`, ...summarize(readings.delays()) },
          ],
        },
      ],
      notes: ['A smoke run checks the path, not the speed: its gateway runs from source through tsx.'],
    };
  },
};
