import type { Caller } from '../domain/caller.js';
import type { LedgerService } from '../domain/ledger-service.js';
import type { Logger } from '../logger.js';
import type { TopicEventSource } from '../ports/topic-event-source.js';

/** What resolvers may use: the verified caller and the use cases, nothing lower. */
export interface GraphQLContext {
  readonly caller: Caller | null;
  /** This request's or this websocket operation's logger: its lines carry `requestId`, or `connectionId` and `operationId`. */
  readonly logger: Logger;
  readonly ledger: LedgerService;
  /** Feeds every declared (`@topic`) Subscription field. */
  readonly topics: TopicEventSource;
}

export type GatewayServices = Omit<GraphQLContext, 'caller' | 'logger'>;
