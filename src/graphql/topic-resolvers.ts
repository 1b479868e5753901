import type { addResolversToSchema } from '@graphql-tools/schema';
import type { TopicEvent } from '../ports/topic-event-source.js';
import type { DeclaredTopic } from '../subscriptions/declared-topics.js';
import { type TopicFieldArgs, toSubscribeRequest } from '../subscriptions/subscription-request.js';
import type { GraphQLContext } from './context.js';

/**
 * One resolver for every declared field: the arguments become a request to the event source, and the event type's
 * payload field reads the event's payload. Nothing here knows what a topic carries.
 */
export function topicResolvers(topics: readonly DeclaredTopic[]): Parameters<typeof addResolversToSchema>[0]['resolvers'] {
  const subscription: Record<string, { subscribe: unknown; resolve: unknown }> = {};
  const eventTypes: Record<string, Record<string, (event: TopicEvent) => unknown>> = {};
  for (const declared of topics) {
    const { field, eventType, payloadField } = declared.declaration;
    subscription[field] = {
      subscribe: (_: unknown, args: TopicFieldArgs, ctx: GraphQLContext) =>
        ctx.topics.subscribe(field, { ...toSubscribeRequest(declared, ctx.caller, args), logger: ctx.logger }),
      resolve: (event: TopicEvent) => event,
    };
    eventTypes[eventType.name] = { ...eventTypes[eventType.name], [payloadField]: (event) => event.payload };
  }
  return { ...(topics.length > 0 && { Subscription: subscription }), ...eventTypes };
}
