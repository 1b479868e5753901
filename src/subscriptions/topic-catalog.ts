import {
  type GraphQLField,
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';
import { readTopicDirective, TopicDeclarationError, type TopicDirective, topicDirectivesOf } from './topic-directive.js';
import type { TopicEnvironment } from './topic-name.js';

export type { TopicFormat } from './topic-directive.js';
export { TopicDeclarationError } from './topic-directive.js';

/** What the engine may put beside the payload in an event, with the one type each must have (as on SettledOrderEvent). */
export const ENVELOPE_FIELDS = { eventId: 'ID', partition: 'Int', offset: 'String', publishedAt: 'DateTime', cursor: 'String' } as const;
export type EnvelopeField = keyof typeof ENVELOPE_FIELDS;

/** The arguments a declared field may take besides `filter`, with orderSettled's types and meanings. */
export const STREAM_ARGUMENTS = { subscriberId: 'String', start: 'StartFrom', afterCursor: 'String', since: 'DateTime' } as const;
export type StreamArgument = keyof typeof STREAM_ARGUMENTS;

export type FilterKind = 'equals' | 'anyOf' | 'min' | 'max';

/** One filter input field and the payload field it tests. */
export interface FilterFieldRule {
  readonly name: string;
  readonly payloadField: string;
  readonly kind: FilterKind;
}

/** The `filter` argument as the catalog read it: the one place that decides which rule each input field follows. */
export interface FilterArgument {
  readonly name: 'filter';
  readonly type: GraphQLInputObjectType;
  readonly fields: readonly FilterFieldRule[];
}

/** One Subscription field carrying `@topic`: everything the engine needs to serve it without knowing what it is. */
export interface TopicDeclaration extends TopicDirective {
  /** The Subscription field, e.g. `orderSettled`: also the `field` label of its metrics. */
  readonly field: string;
  readonly eventType: GraphQLObjectType;
  /** The event type's one object-typed field, which holds the record's payload. */
  readonly payloadField: string;
  readonly payloadType: GraphQLObjectType;
  /** The envelope fields the event type has, in ENVELOPE_FIELDS order. */
  readonly envelopeFields: readonly EnvelopeField[];
  readonly filterArgument?: FilterArgument;
  /** The stream arguments the field takes, in STREAM_ARGUMENTS order. */
  readonly arguments: readonly StreamArgument[];
}

/** The declared fields in the Subscription type's order. */
export type TopicCatalog = readonly TopicDeclaration[];

const RANGE_TYPES = new Set(['Int', 'Float', 'MinorAmount', 'DateTime']);
const STRING_LIKE = new Set(['ID', 'String']);
const RANGE_FIELD = /^(min|max)([A-Z].*)$/;

const nullableOf = <T extends GraphQLOutputType | GraphQLInputType>(type: T) => (isNonNullType(type) ? type.ofType : type);

/** A scalar or enum field's type, unless it is a list or an object. */
function leafOf(type: GraphQLOutputType): GraphQLNamedType | undefined {
  const nullable = nullableOf(type);
  return isScalarType(nullable) || isEnumType(nullable) ? nullable : undefined;
}

/** ID and String hold the same JSON strings, and orderSettled's filter already pairs `accountId: ID` with them. */
const sameLeaf = (a: GraphQLNamedType, b: GraphQLNamedType) => a.name === b.name || (STRING_LIKE.has(a.name) && STRING_LIKE.has(b.name));

/**
 * Reads every `@topic` of the built schema into the catalog and checks the contract's rules; the first broken one
 * throws TopicDeclarationError (one line naming the field and the rule). `env` expands `${VAR}` in topic names.
 */
export function buildTopicCatalog(schema: GraphQLSchema, env: TopicEnvironment): TopicCatalog {
  const subscription = schema.getSubscriptionType();
  for (const type of Object.values(schema.getTypeMap())) {
    if ((!isObjectType(type) && !isInterfaceType(type)) || type === subscription) continue;
    for (const field of Object.values(type.getFields())) {
      if (topicDirectivesOf(field.astNode).length > 0) {
        throw new TopicDeclarationError(`${type.name}.${field.name}`, '@topic is allowed only on fields of the Subscription type');
      }
    }
  }
  if (!subscription) return [];
  return Object.values(subscription.getFields()).flatMap((field) => {
    const [directive, ...repeated] = topicDirectivesOf(field.astNode);
    if (directive === undefined) return [];
    const coordinate = `${subscription.name}.${field.name}`;
    if (repeated.length > 0) throw new TopicDeclarationError(coordinate, '@topic is given more than once');
    return [declarationOf(coordinate, field, readTopicDirective(coordinate, directive, env))];
  });
}

type Fail = (rule: string) => never;

const failingAt =
  (coordinate: string): Fail =>
  (rule) => {
    throw new TopicDeclarationError(coordinate, rule);
  };

function declarationOf(coordinate: string, field: GraphQLField<unknown, unknown>, directive: TopicDirective): TopicDeclaration {
  // Annotated so that TypeScript narrows after a call: `if (x === undefined) fail(...)`.
  const fail: Fail = failingAt(coordinate);
  const eventType = nullableOf(field.type);
  if (!isObjectType(eventType)) fail(`returns ${String(field.type)}; a declared field returns an event object type`);
  const { envelopeFields, payloadField, payloadType } = eventPartsOf(eventType, fail);
  for (const role of ['key', 'owner'] as const) {
    const named = directive[role];
    if (named === undefined) continue;
    const target = payloadType.getFields()[named];
    if (target === undefined) fail(`@topic ${role} ${JSON.stringify(named)} names no field of ${payloadType.name}`);
    if (!isScalarType(nullableOf(target.type))) {
      fail(
        `@topic ${role} ${JSON.stringify(named)} names ${payloadType.name}.${named}, of type ${String(target.type)}; it must name a scalar field`,
      );
    }
  }
  const { streamArguments, filterArgument } = argumentsOf(coordinate, field, payloadType, fail);
  if (directive.owner !== undefined) {
    const ownerRule = filterArgument?.fields.find((rule) => rule.name === directive.owner);
    if (ownerRule === undefined || (ownerRule.kind !== 'equals' && ownerRule.kind !== 'anyOf')) {
      fail(
        `@topic owner ${JSON.stringify(directive.owner)} needs filter field ${directive.owner}: callers without the readScope filter on it`,
      );
    }
  }
  return {
    field: field.name,
    ...directive,
    eventType,
    payloadField,
    payloadType,
    envelopeFields,
    ...(filterArgument !== undefined && { filterArgument }),
    arguments: streamArguments,
  };
}

/** In the constants' order, so that the catalog does not depend on how an operator ordered the SDL. */
const inOrderOf = <T extends string>(all: Readonly<Record<T, unknown>>, names: readonly T[]): T[] =>
  (Object.keys(all) as T[]).filter((name) => names.includes(name));

function eventPartsOf(eventType: GraphQLObjectType, fail: Fail) {
  const envelopeFields: EnvelopeField[] = [];
  const payloads: { readonly name: string; readonly type: GraphQLObjectType }[] = [];
  for (const eventField of Object.values(eventType.getFields())) {
    const name = eventField.name;
    const type = nullableOf(eventField.type);
    if (Object.hasOwn(ENVELOPE_FIELDS, name)) {
      const wanted = ENVELOPE_FIELDS[name as EnvelopeField];
      if (String(type) !== wanted) fail(`envelope field ${eventType.name}.${name} is ${String(eventField.type)}; it must be ${wanted}!`);
      envelopeFields.push(name as EnvelopeField);
    } else if (isObjectType(type)) {
      payloads.push({ name, type });
    } else {
      const envelope = Object.keys(ENVELOPE_FIELDS).join(', ');
      fail(
        `${eventType.name}.${name} is ${String(eventField.type)}: an event type holds one object-typed payload field and the envelope fields ${envelope}`,
      );
    }
  }
  const [payload, ...otherPayloads] = payloads;
  if (payload === undefined) fail(`${eventType.name} has no payload field (one field of an object type, beside the envelope)`);
  if (otherPayloads.length > 0) {
    fail(`${eventType.name} has more than one payload field (${payloads.map((p) => p.name).join(', ')}); it must have one`);
  }
  return { envelopeFields: inOrderOf(ENVELOPE_FIELDS, envelopeFields), payloadField: payload.name, payloadType: payload.type };
}

function argumentsOf(coordinate: string, field: GraphQLField<unknown, unknown>, payloadType: GraphQLObjectType, fail: Fail) {
  const given: StreamArgument[] = [];
  let filterArgument: FilterArgument | undefined;
  for (const argument of field.args) {
    if (argument.name === 'filter') {
      filterArgument = filterArgumentOf(coordinate, argument.type, payloadType);
    } else if (Object.hasOwn(STREAM_ARGUMENTS, argument.name)) {
      const wanted = STREAM_ARGUMENTS[argument.name as StreamArgument];
      if (String(argument.type) !== wanted)
        fail(`argument ${argument.name} is ${String(argument.type)}; it must be ${wanted}, as on orderSettled`);
      given.push(argument.name as StreamArgument);
    } else {
      fail(`argument ${argument.name} is not one of filter, ${Object.keys(STREAM_ARGUMENTS).join(', ')}`);
    }
  }
  return { streamArguments: inOrderOf(STREAM_ARGUMENTS, given), filterArgument };
}

/**
 * The contract's filter convention: `f` tests payload field `f` (a list: any of its values); `minF`/`maxF` bound `f`.
 * `type` is the filter argument's type and `coordinate` the field a broken rule's TopicDeclarationError names.
 * Exported so that filter matching compiles predicates from these rules rather than deciding them again.
 */
export function filterArgumentOf(coordinate: string, type: GraphQLInputType, payloadType: GraphQLObjectType): FilterArgument {
  const fail: Fail = failingAt(coordinate);
  if (!isInputObjectType(type)) fail(`argument filter is ${String(type)}; it must be an input object type (nullable)`);
  const filterType = type;
  const fields = Object.values(filterType.getFields()).map((input): FilterFieldRule => {
    const at = `filter field ${filterType.name}.${input.name}`;
    const nullable = nullableOf(input.type);
    const list = isListType(nullable);
    const leaf = list ? nullableOf(nullable.ofType) : nullable;
    if (!isScalarType(leaf) && !isEnumType(leaf))
      fail(`${at} is ${String(input.type)}; a filter field is a scalar, an enum or a list of one`);

    const payload = payloadType.getFields()[input.name];
    if (payload !== undefined) {
      const payloadLeaf = leafOf(payload.type);
      if (payloadLeaf === undefined) {
        fail(`${at} names ${payloadType.name}.${input.name}, of type ${String(payload.type)}: only scalar and enum fields filter`);
      }
      if (!sameLeaf(leaf, payloadLeaf))
        fail(`${at} is ${String(input.type)} but ${payloadType.name}.${input.name} is ${String(payload.type)}`);
      return { name: input.name, payloadField: input.name, kind: list ? 'anyOf' : 'equals' };
    }
    const range = RANGE_FIELD.exec(input.name);
    const rest = range?.[2];
    const bounded = rest === undefined ? undefined : `${rest.charAt(0).toLowerCase()}${rest.slice(1)}`;
    const boundedField = bounded === undefined ? undefined : payloadType.getFields()[bounded];
    if (range === null || bounded === undefined || boundedField === undefined) {
      fail(`${at} names no field of ${payloadType.name} (a bound is min<Field> or max<Field>)`);
    }
    const boundedLeaf = leafOf(boundedField.type);
    if (boundedLeaf === undefined || !RANGE_TYPES.has(boundedLeaf.name)) {
      const type = String(boundedField.type);
      fail(`${at} bounds ${payloadType.name}.${bounded}, of type ${type}: only Int, Float, MinorAmount and DateTime have bounds`);
    }
    if (list || leaf.name !== boundedLeaf.name) {
      fail(`${at} is ${String(input.type)}; it must be ${boundedLeaf.name}, as ${payloadType.name}.${bounded} is`);
    }
    return { name: input.name, payloadField: bounded, kind: range[1] === 'min' ? 'min' : 'max' };
  });
  return { name: 'filter', type: filterType, fields };
}
