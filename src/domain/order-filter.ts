import type { Order } from './order.js';

/** `OrderFilter` of the schema, after validation. */
export interface OrderFilter {
  readonly accountId?: string;
  readonly currency?: string;
  readonly product?: string;
  readonly minAmount?: bigint;
}

export function matchesFilter(order: Order, filter: OrderFilter): boolean {
  return (
    (filter.accountId === undefined || order.accountId === filter.accountId) &&
    (filter.currency === undefined || order.currency === filter.currency) &&
    (filter.product === undefined || order.product === filter.product) &&
    (filter.minAmount === undefined || order.amount >= filter.minAmount)
  );
}
