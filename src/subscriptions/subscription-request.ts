import { assertCanSubscribe, requireCaller } from '../domain/access.js';
import type { Caller } from '../domain/caller.js';
import { checkFilterValues } from '../domain/filter-values.js';
import * as valid from '../domain/validation.js';
import { badInput } from '../errors.js';
import type { StartPosition, SubscribeRequest } from '../ports/topic-event-source.js';
import type { DeclaredTopic } from './declared-topics.js';
import { keyFilterValue } from './filter-matching.js';

/** The arguments of a declared Subscription field (those of orderSettled; a declaration may leave any out). */
export interface TopicFieldArgs {
  readonly filter?: Readonly<Record<string, unknown>> | null;
  readonly subscriberId?: string | null;
  readonly start?: 'LATEST' | 'EARLIEST' | 'COMMITTED' | null;
  readonly afterCursor?: string | null;
  readonly since?: Date | null;
}

const MATCH_ALL = () => true;

function startPosition(args: TopicFieldArgs, durable: boolean): StartPosition {
  const given = [args.start, args.afterCursor, args.since].filter((v) => v !== undefined && v !== null);
  if (given.length > 1) throw badInput('give at most one of start, afterCursor and since', 'start');
  if (args.afterCursor != null) return { kind: 'AFTER_CURSOR', cursor: args.afterCursor };
  if (args.since != null) return { kind: 'SINCE', at: args.since };
  // COMMITTED on an ephemeral group means LATEST: a new group has no offsets.
  return { kind: args.start ?? (durable ? 'COMMITTED' : 'LATEST') };
}

/** Only the given fields: what the subscription's log line shows. */
const givenFields = (filter: Readonly<Record<string, unknown>>) =>
  Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== null && value !== undefined));

/** Validates and authorizes a declared field's arguments into a request for the event source. */
export function toSubscribeRequest(declared: DeclaredTopic, caller: Caller | null, args: TopicFieldArgs): SubscribeRequest {
  const who = requireCaller(caller);
  const { declaration } = declared;
  const filter = args.filter ?? {};
  if (declaration.filterArgument) checkFilterValues(declaration.filterArgument.type.name, filter);
  const ownerValues = declaration.owner === undefined ? undefined : keyFilterValue(filter, declaration.owner);
  assertCanSubscribe(who, declaration, ownerValues);
  const keys = declaration.key === undefined ? undefined : keyFilterValue(filter, declaration.key);
  const durable = args.subscriberId != null;
  return {
    caller: who,
    ...(durable && { subscriberId: valid.subscriberId(args.subscriberId as string, 'subscriberId') }),
    start: startPosition(args, durable),
    accept: declared.filter ? declared.filter(filter) : MATCH_ALL,
    // One key: the engine wakes the subscription only for that key's records.
    ...(keys?.length === 1 && { key: keys[0] }),
    filter: givenFields(filter),
  };
}
