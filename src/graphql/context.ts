import type { Caller } from '../domain/caller.js';
import type { LedgerService } from '../domain/ledger-service.js';
import type { Logger } from '../logger.js';
import type { TopicEventSource } from '../ports/topic-event-source.js';

/** What a subscription's resolver leaves for its transport: how to check it again when the caller's token is refreshed. */
export interface LiveAccess {
  /** Ends the subscription (with FORBIDDEN) when `caller` may no longer have it; nothing otherwise. */
  recheck?: (caller: Caller) => void;
}

/** What resolvers may use: the verified caller and the use cases, nothing lower. */
export interface GraphQLContext {
  readonly caller: Caller | null;
  /** This request's or this websocket operation's logger: its lines carry `requestId`, or `connectionId` and `operationId`. */
  readonly logger: Logger;
  readonly ledger: LedgerService;
  /** Feeds every declared (`@topic`) Subscription field. */
  readonly topics: TopicEventSource;
  /** A subscription's re-check on a token refresh, left here by its resolver (transports that refresh give one). */
  readonly access?: LiveAccess;
  /** A resume position carried by the transport beside the operation (SSE's Last-Event-ID), as `afterCursor`. */
  readonly resumeAfter?: string;
}

export type GatewayServices = Omit<GraphQLContext, 'caller' | 'logger' | 'access' | 'resumeAfter'>;
