/** Clearing: settled totals per currency per minute (of settledAt), from its own durable subscription. */
import { followOrderSettled } from './support/followed-fields.js';
import { runSubscribedSystem } from './support/subscribed-system.js';

/** minute (ISO, to the minute) -> currency -> total in minor units. */
type Totals = Record<string, Record<string, string>>;

runSubscribedSystem<Totals>({
  name: 'clearing',
  subscriberId: 'demo',
  initialFigure: () => ({}),
  follows: [
    followOrderSettled({
      apply(totals: Totals, { order }) {
        const minute = order.settledAt.slice(0, 16);
        const row = totals[minute] ?? {};
        totals[minute] = row;
        row[order.currency] = String(BigInt(row[order.currency] ?? '0') + BigInt(order.amount));
      },
    }),
  ],
});
