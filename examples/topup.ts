/**
 * The phone top-up service: a durable subscriber that asks the gateway for
 * `product = phone-topup` only, and "performs" each top-up once (recorded in its
 * own state, keyed by eventId, so a repeat after a reconnect tops up nothing twice).
 */
import { runSubscribedSystem } from './support/subscribed-system.js';

interface TopUps {
  done: number;
  /** Per phone number (the order's reference), minor units topped up. */
  byPhone: Record<string, string>;
}

runSubscribedSystem<TopUps>({
  name: 'topup',
  subscriberId: 'demo',
  filter: { product: 'phone-topup' },
  initialFigure: () => ({ done: 0, byPhone: {} }),
  apply(figure, { order }) {
    const phone = order.reference ?? 'unknown';
    figure.byPhone[phone] = String(BigInt(figure.byPhone[phone] ?? '0') + BigInt(order.amount));
    figure.done += 1;
  },
});
