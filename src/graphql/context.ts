import type { Caller } from '../domain/caller.js';
import type { LedgerService } from '../domain/ledger-service.js';
import type { SettledOrderSource } from '../ports/settled-order-source.js';
import type { OrderSettledArgs } from '../domain/subscription-request.js';
import type { SubscribeRequest } from '../ports/settled-order-source.js';

/** What resolvers may use: the verified caller and the use cases, nothing lower. */
export interface GraphQLContext {
  readonly caller: Caller | null;
  readonly ledger: LedgerService;
  readonly orders: SettledOrderSource;
  /** Validates, authorizes and checks the cursor of `orderSettled` arguments. */
  readonly toSubscribeRequest: (caller: Caller | null, args: OrderSettledArgs) => SubscribeRequest;
}

export type GatewayServices = Omit<GraphQLContext, 'caller'>;
