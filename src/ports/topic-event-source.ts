import type { Caller } from '../domain/caller.js';
import type { Logger } from '../logger.js';
import type { CoercedPayload } from '../subscriptions/payload-coercion.js';

/** Where a subscription starts reading. At most one may be given by a client. */
export type StartPosition =
  | { readonly kind: 'LATEST' }
  | { readonly kind: 'EARLIEST' }
  /** Where the durable group left off; LATEST for a group without offsets. */
  | { readonly kind: 'COMMITTED' }
  /** Kafka's offsets-for-timestamp. */
  | { readonly kind: 'SINCE'; readonly at: Date }
  /** Right after the event that carried this (still unverified) cursor. */
  | { readonly kind: 'AFTER_CURSOR'; readonly cursor: string };

export interface SubscribeRequest {
  readonly caller: Caller;
  /** Durable when given: group `<prefix>.<sub>.<subscriberId>`; ephemeral otherwise. */
  readonly subscriberId?: string;
  readonly start: StartPosition;
  /** The subscription's filter, bound: which payloads it receives. */
  readonly accept: (payload: CoercedPayload) => boolean;
  /** The record key every accepted record has (the filter pins the declaration's `key` field to one value). */
  readonly key?: string;
  /** The filter as given, for the subscription's log lines. */
  readonly filter: Readonly<Record<string, unknown>>;
  /**
   * Called once, when the subscription has joined its consumer group and its
   * start positions are fixed: every record appended to the topic from then on
   * reaches it (LATEST included; with a durable group shared by several
   * connections, reaches one of them). Not called when it ends before that.
   */
  readonly onReady?: () => void;
  /** Where this subscription's lines go (its connection and operation); each also names the group. @default the source's */
  readonly logger?: Logger;
  /** Aborted with an error (FORBIDDEN after a token refresh): the subscription ends by throwing that error. */
  readonly revoked?: AbortSignal;
}

/** One record of a declared topic as a subscriber receives it (the field's event type, payload under `payload`). */
export interface TopicEvent {
  readonly eventId: string;
  /** The record's payload, typed; one object shared by every subscriber of the record. */
  readonly payload: CoercedPayload;
  readonly partition: number;
  /** Kafka offset, decimal digits. */
  readonly offset: string;
  /** When Kafka appended the record. */
  readonly publishedAt: Date;
  /** Signed resume token: right after this event on every partition this subscription reads. */
  readonly cursor: string;
}

/**
 * The narrow interface between the GraphQL layer and whatever feeds the declared subscription fields (today: one
 * Kafka consumer group per subscription).
 *
 * Contract of the returned generator:
 * - `subscribe` validates the request synchronously and throws
 *   AppError('BAD_USER_INPUT') (bad cursor or date) before any generator
 *   exists, so a resolver's throw becomes a plain GraphQL error;
 * - an event's offset is committed only once the consumer asked for the next
 *   value (so the previous one was handed to the client's socket) or the event
 *   was filtered out: at-least-once;
 * - `return()` (client completes, socket closes, shutdown) commits what was
 *   delivered, leaves the group, and deletes an ephemeral group.
 */
export interface TopicEventSource {
  /** `field`: a declared Subscription field. */
  subscribe(field: string, request: SubscribeRequest): AsyncGenerator<TopicEvent, void, undefined>;
  /**
   * Ends every open subscription as a stream that finished (graceful shutdown): each generator returns normally,
   * so the transport completes it to its client, and what was delivered is committed as on any return().
   */
  finishAll(): void;
  /** Ends every open subscription (gateway shutdown). */
  close(): Promise<void>;
  /** Open subscriptions, for metrics and leak tests. */
  readonly activeCount: number;
}
