import type { Caller } from '../domain/caller.js';
import type { LedgerService } from '../domain/ledger-service.js';
import type { OrderSettledArgs } from '../domain/subscription-request.js';
import type { SettledOrderSource, SubscribeRequest } from '../ports/settled-order-source.js';

/** What resolvers may use: the verified caller and the use cases, nothing lower. */
export interface GraphQLContext {
  readonly caller: Caller | null;
  readonly ledger: LedgerService;
  readonly orders: SettledOrderSource;
  /** Validates and authorizes `orderSettled` arguments (the source verifies the cursor when subscribing). */
  readonly toSubscribeRequest: (caller: Caller | null, args: OrderSettledArgs) => SubscribeRequest;
}

export type GatewayServices = Omit<GraphQLContext, 'caller'>;
