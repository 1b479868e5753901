import { badInput } from '../errors.js';
import type { StartPosition, SubscribeRequest } from '../ports/settled-order-source.js';
import { assertCanSubscribe, requireCaller } from './access.js';
import type { Caller } from './caller.js';
import type { OrderFilter } from './order-filter.js';
import * as valid from './validation.js';

export interface OrderSettledArgs {
  filter?: { accountId?: string | null; currency?: string | null; product?: string | null; minAmount?: bigint | null } | null;
  subscriberId?: string | null;
  start?: 'LATEST' | 'EARLIEST' | 'COMMITTED' | null;
  afterCursor?: string | null;
  since?: Date | null;
}

function startPosition(args: OrderSettledArgs, durable: boolean): StartPosition {
  const given = [args.start, args.afterCursor, args.since].filter((v) => v !== undefined && v !== null);
  if (given.length > 1) throw badInput('give at most one of start, afterCursor and since', 'start');
  if (args.afterCursor != null) return { kind: 'AFTER_CURSOR', cursor: args.afterCursor };
  if (args.since != null) return { kind: 'SINCE', at: args.since };
  // COMMITTED on an ephemeral group means LATEST: a new group has no offsets.
  return { kind: args.start ?? (durable ? 'COMMITTED' : 'LATEST') };
}

function orderFilter(filter: OrderSettledArgs['filter']): OrderFilter {
  if (!filter) return {};
  return {
    ...(filter.accountId != null && { accountId: valid.accountId(filter.accountId, 'filter.accountId') }),
    ...(filter.currency != null && { currency: valid.currencyCode(filter.currency, 'filter.currency') }),
    ...(filter.product != null && { product: valid.productCode(filter.product, 'filter.product') }),
    ...(filter.minAmount != null && {
      minAmount: filter.minAmount === 0n ? 0n : valid.positiveAmount(filter.minAmount, 'filter.minAmount'),
    }),
  };
}

/** Validates and authorizes `orderSettled` arguments into a request for the event source. */
export function toSubscribeRequest(caller: Caller | null, args: OrderSettledArgs): SubscribeRequest {
  const who = requireCaller(caller);
  const filter = orderFilter(args.filter);
  assertCanSubscribe(who, filter.accountId);
  const durable = args.subscriberId != null;
  return {
    caller: who,
    ...(durable && { subscriberId: valid.subscriberId(args.subscriberId as string, 'subscriberId') }),
    start: startPosition(args, durable),
    filter,
  };
}
