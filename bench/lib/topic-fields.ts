/**
 * Any declared-topic field as the bench subscribes to it (orderSettled, the bench's second topic). Apart from
 * subscribers.ts so that the subscriber swarm's process loads graphql-ws only, not kafkajs and the database code.
 */
import type { Client } from 'graphql-ws';
import {
  asGatewayErrors,
  type GatewayError,
  type OrderSettledVariables,
  topicSubscriptionQuery,
} from '../../examples/support/gateway-subscriptions.js';

/** A declared-topic field as the bench reads it: its payload's `id` and `accountId` (aliased where named otherwise). */
export interface TopicField {
  field: string;
  filterType: string;
  /** The event's payload field (`order`). */
  payload: string;
  /** The event fields read: `<payload> { id accountId }`. */
  selection: string;
}

export const ORDER_FIELD: TopicField = {
  field: 'orderSettled',
  filterType: 'OrderFilter',
  payload: 'order',
  selection: 'order { id accountId }',
};

type Payload = { id: string; accountId: string };

/** Calls `onEvent(id, accountId)` for every event of `spec`'s field; returns the unsubscribe function. */
export function subscribeField(
  client: Client,
  spec: TopicField,
  variables: OrderSettledVariables,
  onEvent: (id: string, accountId: string) => void,
  onError: (errors: GatewayError[]) => void = () => {},
): () => void {
  const query = topicSubscriptionQuery(spec.field, spec.filterType, spec.selection);
  return client.subscribe<Record<string, Record<string, Payload>>>(
    { query, variables: variables as Record<string, unknown> },
    {
      next: (result) => {
        if (result.errors) onError(result.errors as GatewayError[]);
        const payload = result.data?.[spec.field]?.[spec.payload];
        if (payload) onEvent(payload.id, payload.accountId);
      },
      error: (error) => onError(asGatewayErrors(error)),
      complete: () => {},
    },
  );
}
