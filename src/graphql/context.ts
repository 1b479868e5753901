import type { Caller } from '../domain/caller.js';
import type { LedgerService } from '../domain/ledger-service.js';
import type { OrderSettledArgs } from '../domain/subscription-request.js';
import type { Logger } from '../logger.js';
import type { SettledOrderSource, SubscribeRequest } from '../ports/settled-order-source.js';

/** What resolvers may use: the verified caller and the use cases, nothing lower. */
export interface GraphQLContext {
  readonly caller: Caller | null;
  /** This request's or this websocket operation's logger: its lines carry `requestId`, or `connectionId` and `operationId`. */
  readonly logger: Logger;
  readonly ledger: LedgerService;
  readonly orders: SettledOrderSource;
  /** Validates and authorizes `orderSettled` arguments (the source verifies the cursor when subscribing). */
  readonly toSubscribeRequest: (caller: Caller | null, args: OrderSettledArgs) => SubscribeRequest;
}

export type GatewayServices = Omit<GraphQLContext, 'caller' | 'logger'>;
