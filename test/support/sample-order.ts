import type { Order } from '../../src/domain/order.js';

/** A settled order with fixed values, for tests of pure functions that read or write one. */
export const sampleOrder = (extra: Partial<Order> = {}): Order => ({
  id: 'o-1',
  accountId: 'acc-1',
  amount: 1999n,
  currency: 'USD',
  product: 'phone-topup',
  reference: null,
  status: 'SETTLED',
  balanceAfter: 8001n,
  idempotencyKey: 'k-1',
  createdAt: new Date('2026-11-24T09:30:00.000Z'),
  settledAt: new Date('2026-11-24T09:30:00.012Z'),
  ...extra,
});
