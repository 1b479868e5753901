import type { Caller } from '../domain/caller.js';
import type { SharedExecutionOptions } from '../operations/shared-execution.js';
import type { GraphQLContext } from './context.js';

const callerKeys = new WeakMap<Caller, string>();

/** What resolvers can see of the caller: results of equal operations for equal keys are equal. */
function callerKey(contextValue: unknown): string {
  const caller = (contextValue as GraphQLContext | undefined)?.caller;
  if (!caller) return '';
  let key = callerKeys.get(caller);
  if (key === undefined) {
    key = JSON.stringify([caller.sub, [...caller.scopes].sort(), [...caller.accounts].sort()]);
    callerKeys.set(caller, key);
  }
  return key;
}

/**
 * Which events of a declared field are the same for every subscription: the subscription engine decodes a record
 * once, so one record's `payload` is one object for all its subscribers, and of an event only `cursor` differs
 * between them (it holds that subscription's positions).
 */
export const subscriptionSharing: SharedExecutionOptions = {
  eventIdentity: (event) => {
    const payload: unknown = typeof event === 'object' && event !== null ? Reflect.get(event, 'payload') : undefined;
    return typeof payload === 'object' && payload !== null ? payload : undefined;
  },
  perSubscriberFields: new Set(['cursor']),
  callerKey,
};

/** A declared field's event is resumed after by its cursor (SSE writes it as the event's `id:`); other events have none. */
export function resumeIdOf(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null || !('payload' in event)) return undefined;
  const cursor: unknown = Reflect.get(event, 'cursor');
  return typeof cursor === 'string' ? cursor : undefined;
}
