/**
 * The gateway's Subscription fields the examples follow, each with the fields of its event they read: a system lists
 * the ones it follows (subscribed-system.ts) and says what it does with each event.
 */
import { orderSettledQuery, topicSubscriptionQuery } from './gateway-subscriptions.js';
import type { SettledEvent, TopicEvent } from './settled-event.js';
import type { TopUpCompletedEvent } from './top-up.js';

/** One field a system follows; the event type is known to the helper that made it, so a list of them can mix fields. */
export interface Followed<F> {
  readonly field: string;
  readonly query: string;
  readonly filter?: Record<string, unknown>;
  /** The order the event is about, recorded with its eventId. */
  orderIdOf(event: TopicEvent): string;
  /** Changes the figure for an event seen for the first time; may wait (e.g. to publish), and the event is saved after. */
  apply(figure: F, event: TopicEvent): void | Promise<void>;
}

interface Handler<F, E> {
  filter?: Record<string, unknown>;
  apply(figure: F, event: E): void | Promise<void>;
}

const ENVELOPE = 'eventId partition offset cursor';
const ORDER_SETTLED = orderSettledQuery(`${ENVELOPE} order { id accountId amount currency product reference settledAt }`);
const TOPUP_COMPLETED = topicSubscriptionQuery(
  'topupCompleted',
  'TopUpFilter',
  `${ENVELOPE} topup { topupId orderId accountId phone amount status completedAt }`,
);

// The gateway answers `query` with events of its selection: the casts below are where that is taken on trust.
export const followOrderSettled = <F>(handler: Handler<F, SettledEvent>): Followed<F> => ({
  field: 'orderSettled',
  query: ORDER_SETTLED,
  ...(handler.filter && { filter: handler.filter }),
  orderIdOf: (event) => (event as SettledEvent).order.id,
  apply: (figure, event) => handler.apply(figure, event as SettledEvent),
});

/** topupCompleted is declared in examples/topups.graphql, which the demo's gateway loads through SCHEMA_PATHS. */
export const followTopUpCompleted = <F>(handler: Handler<F, TopUpCompletedEvent>): Followed<F> => ({
  field: 'topupCompleted',
  query: TOPUP_COMPLETED,
  ...(handler.filter && { filter: handler.filter }),
  orderIdOf: (event) => (event as TopUpCompletedEvent).topup.orderId,
  apply: (figure, event) => handler.apply(figure, event as TopUpCompletedEvent),
});
