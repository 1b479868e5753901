/**
 * Customer notifications: tells a customer "charged" for each settled order, then "topped up" or "top-up failed" once
 * the top-up system has published the outcome. It follows two topics of two systems, orderSettled (the gateway's
 * own) and topupCompleted (the top-up system's, declared in examples/topups.graphql), as ONE durable subscriber:
 * its consumer group holds offsets for both. The two topics keep no order between them, so an outcome that comes
 * before its order's charge is held and told right after it.
 */
import { followOrderSettled, followTopUpCompleted } from './support/followed-fields.js';
import { runSubscribedSystem } from './support/subscribed-system.js';
import type { TopUpStatus } from './support/top-up.js';

interface Told {
  /** order id -> what its customer has been told (a top-up outcome not told yet waits for the charge). */
  orders: Record<string, { charged: boolean; topUp?: TopUpStatus }>;
  charged: number;
  toppedUp: number;
  topUpFailed: number;
  /** Top-up outcomes whose order's charge has not come yet. */
  held: number;
}

const system = runSubscribedSystem<Told>({
  name: 'notify',
  subscriberId: 'notifications',
  initialFigure: () => ({ orders: {}, charged: 0, toppedUp: 0, topUpFailed: 0, held: 0 }),
  follows: [
    followOrderSettled({
      apply(told: Told, { order }) {
        const known = told.orders[order.id];
        told.orders[order.id] = { ...known, charged: true };
        told.charged += 1;
        system.log(
          `to ${order.accountId}: you were charged ${money(order.amount)} ${order.currency} for ${order.product} (order ${order.id})`,
        );
        if (known?.topUp !== undefined) {
          told.held -= 1;
          tellTopUp(order.accountId, order.id, known.topUp);
        }
      },
    }),
    followTopUpCompleted({
      apply(told: Told, { topup }) {
        const known = told.orders[topup.orderId];
        told.orders[topup.orderId] = { charged: known?.charged ?? false, topUp: topup.status };
        if (topup.status === 'DONE') told.toppedUp += 1;
        else told.topUpFailed += 1;
        if (known?.charged) tellTopUp(topup.accountId, topup.orderId, topup.status);
        else told.held += 1;
      },
    }),
  ],
});

/** The demo's currencies all have two decimals. */
const money = (minor: string) => `${minor.slice(0, -2) || '0'}.${minor.slice(-2).padStart(2, '0')}`;

function tellTopUp(accountId: string, orderId: string, status: TopUpStatus): void {
  system.log(
    status === 'DONE'
      ? `to ${accountId}: your phone was topped up (order ${orderId})`
      : `to ${accountId}: your top-up failed (order ${orderId}); the operator refused the number`,
  );
}
