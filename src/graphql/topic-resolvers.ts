import type { addResolversToSchema } from '@graphql-tools/schema';
import { badInput } from '../errors.js';
import type { TopicEvent } from '../ports/topic-event-source.js';
import type { DeclaredTopic } from '../subscriptions/declared-topics.js';
import { type TopicFieldArgs, toSubscribeRequest } from '../subscriptions/subscription-request.js';
import type { GraphQLContext } from './context.js';

/**
 * The transport's resume position (SSE's Last-Event-ID) as `afterCursor`; with `afterCursor` too it is ambiguous.
 * It supersedes `start` and `since`: an EventSource reconnects to the URL it opened, adding Last-Event-ID.
 */
function resumedArgs(args: TopicFieldArgs, resumeAfter: string | undefined): TopicFieldArgs {
  if (resumeAfter === undefined) return args;
  if (args.afterCursor != null) throw badInput('give Last-Event-ID or afterCursor, not both', 'afterCursor');
  return { ...args, start: null, since: null, afterCursor: resumeAfter };
}

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
      subscribe: (_: unknown, args: TopicFieldArgs, ctx: GraphQLContext) => {
        const given = resumedArgs(args, ctx.resumeAfter);
        const request = toSubscribeRequest(declared, ctx.caller, given);
        const revoke = new AbortController();
        // A refreshed token that no longer allows this subscription ends it with the access rule's own error.
        if (ctx.access) {
          ctx.access.recheck = (caller) => {
            try {
              toSubscribeRequest(declared, caller, given);
            } catch (error) {
              revoke.abort(error);
            }
          };
        }
        return ctx.topics.subscribe(field, { ...request, logger: ctx.logger, revoked: revoke.signal });
      },
      resolve: (event: TopicEvent) => event,
    };
    eventTypes[eventType.name] = { ...eventTypes[eventType.name], [payloadField]: (event) => event.payload };
  }
  return { ...(topics.length > 0 && { Subscription: subscription }), ...eventTypes };
}
