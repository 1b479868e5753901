import {
  type GraphQLInputObjectType,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  isEnumType,
  isListType,
  isNonNullType,
  isScalarType,
} from 'graphql';
import { badInput } from '../errors.js';
import { type CoercedPayload, readDateTime, readMinorAmount } from './payload-coercion.js';

/**
 * The contract's filter convention for a declared topic: filter field `f`
 * tests payload field `f` by equality (a list filter field by membership),
 * `minF` / `maxF` bound payload field `f` inclusively, all given fields must
 * match and null or absent ones are ignored. Payloads come from
 * payload-coercion, so amounts are bigint and instants Date: they compare as
 * numbers and instants, never as strings ("9" < "10").
 */

/** A filter argument as GraphQL's input coercion hands it to a resolver. */
export type FilterValue = Readonly<Record<string, unknown>>;
export type PayloadPredicate = (payload: CoercedPayload) => boolean;

/** Binds one subscription's filter argument, once, into the predicate its records are tested with. */
export interface CompiledFilter {
  (filterValue: FilterValue | null | undefined): PayloadPredicate;
  /** The filter fields that test the payload field of the same name by equality. */
  readonly equalityFields: ReadonlySet<string>;
}

/** A filter input that breaks the convention; start-up names the Subscription field and stops. */
export class FilterDeclarationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FilterDeclarationError';
  }
}

const RANGE_SCALARS = new Set(['Int', 'Float', 'MinorAmount', 'DateTime']);
const STRING_LIKE = new Set(['ID', 'String']);
const RANGE_FIELD = /^(min|max)([A-Z].*)$/;

type Normalize = (filterValue: unknown, where: string) => unknown;

/** What `===`, `<=` and a Set compare correctly: a Date's instant, anything else as it is. */
const comparable = (v: unknown): unknown => (v instanceof Date ? v.getTime() : v);

/**
 * Filter values come from GraphQL's coercion and are already typed when the
 * schema carries the project's scalars; these also read the JSON forms, so a
 * schema built without them filters the same way.
 */
function normalizerFor(type: GraphQLNamedType): Normalize {
  if (type.name === 'MinorAmount') {
    return (v, where) => {
      const amount = readMinorAmount(v);
      if (amount === undefined) throw badInput(`${where} must be an integer amount in minor units`, where);
      return amount;
    };
  }
  if (type.name === 'DateTime') {
    return (v, where) => {
      const instant = readDateTime(v);
      if (instant === undefined) throw badInput(`${where} must be an ISO 8601 instant`, where);
      return instant.getTime();
    };
  }
  return (v) => v;
}

type Compiled =
  | { readonly kind: 'equal'; readonly name: string; readonly payloadField: string; readonly list: boolean; readonly normalize: Normalize }
  | { readonly kind: 'min' | 'max'; readonly name: string; readonly payloadField: string; readonly normalize: Normalize };

function payloadLeaf(payloadType: GraphQLObjectType, fieldName: string): GraphQLNamedType | undefined {
  const field = payloadType.getFields()[fieldName];
  if (field === undefined) return undefined;
  const type: GraphQLOutputType = isNonNullType(field.type) ? field.type.ofType : field.type;
  return isScalarType(type) || isEnumType(type) ? type : undefined;
}

/** The filter field's own type: a leaf, or a list of one (equality only); lists of lists are not a filter. */
function filterShape(type: GraphQLInputType): { leaf: GraphQLNamedType; list: boolean } | undefined {
  const nullable = isNonNullType(type) ? type.ofType : type;
  if (isListType(nullable)) {
    const item = isNonNullType(nullable.ofType) ? nullable.ofType.ofType : nullable.ofType;
    return isScalarType(item) || isEnumType(item) ? { leaf: item, list: true } : undefined;
  }
  return isScalarType(nullable) || isEnumType(nullable) ? { leaf: nullable, list: false } : undefined;
}

const sameKind = (a: GraphQLNamedType, b: GraphQLNamedType) => a.name === b.name || (STRING_LIKE.has(a.name) && STRING_LIKE.has(b.name));

function compileField(name: string, type: GraphQLInputType, payloadType: GraphQLObjectType): Compiled {
  const shape = filterShape(type);
  if (shape === undefined) {
    throw new FilterDeclarationError(`filter field ${name} is ${String(type)}: a filter field is a scalar, an enum or a list of one`);
  }
  const equalTo = payloadLeaf(payloadType, name);
  if (equalTo !== undefined) {
    if (!sameKind(shape.leaf, equalTo)) {
      throw new FilterDeclarationError(
        `filter field ${name} is ${shape.leaf.name} but payload field ${payloadType.name}.${name} is ${equalTo.name}`,
      );
    }
    return { kind: 'equal', name, payloadField: name, list: shape.list, normalize: normalizerFor(equalTo) };
  }
  if (payloadType.getFields()[name] !== undefined) {
    throw new FilterDeclarationError(`filter field ${name} names ${payloadType.name}.${name}, which is not a scalar or an enum`);
  }
  const range = RANGE_FIELD.exec(name);
  const bounded = range ? `${(range[2] as string).charAt(0).toLowerCase()}${(range[2] as string).slice(1)}` : undefined;
  const boundedType = bounded === undefined ? undefined : payloadLeaf(payloadType, bounded);
  if (range === null || bounded === undefined || boundedType === undefined) {
    throw new FilterDeclarationError(
      `filter field ${name} names no payload field of ${payloadType.name} (nor bounds one as min<Field> or max<Field>)`,
    );
  }
  if (!RANGE_SCALARS.has(boundedType.name)) {
    throw new FilterDeclarationError(
      `filter field ${name} bounds ${payloadType.name}.${bounded}, a ${boundedType.name}: only Int, Float, MinorAmount and DateTime have bounds`,
    );
  }
  if (shape.list || shape.leaf.name !== boundedType.name) {
    throw new FilterDeclarationError(`filter field ${name} must be a ${boundedType.name}, as ${payloadType.name}.${bounded} is`);
  }
  return { kind: range[1] as 'min' | 'max', name, payloadField: bounded, normalize: normalizerFor(boundedType) };
}

const MATCH_ALL: PayloadPredicate = () => true;

function check(field: Compiled, value: unknown): PayloadPredicate {
  const where = `filter.${field.name}`;
  const key = field.payloadField;
  if (field.kind === 'equal' && field.list) {
    // GraphQL wraps a single value given for a list input; a caller bypassing it may not.
    const values: readonly unknown[] = Array.isArray(value) ? value : [value];
    const wanted = new Set(values.filter((v) => v !== null && v !== undefined).map((v) => field.normalize(v, where)));
    return (payload) => wanted.has(comparable(payload[key]));
  }
  const bound = field.normalize(value, where);
  if (field.kind === 'equal') return (payload) => comparable(payload[key]) === bound;
  // A payload without the bounded value is outside any range.
  if (field.kind === 'min') {
    return (payload) => {
      const got = payload[key];
      return got !== null && got !== undefined && (comparable(got) as number | bigint) >= (bound as number | bigint);
    };
  }
  return (payload) => {
    const got = payload[key];
    return got !== null && got !== undefined && (comparable(got) as number | bigint) <= (bound as number | bigint);
  };
}

/**
 * Compiles a declaration's filter input against its payload type; throws
 * FilterDeclarationError when a filter field breaks the convention. Binding a
 * filter value throws BAD_USER_INPUT only for a value the schema's scalars
 * would have refused already.
 */
export function compileFilter(filterType: GraphQLInputObjectType, payloadType: GraphQLObjectType): CompiledFilter {
  const fields = Object.values(filterType.getFields()).map((field) => compileField(field.name, field.type, payloadType));
  const bind = (filterValue: FilterValue | null | undefined): PayloadPredicate => {
    if (!filterValue) return MATCH_ALL;
    const checks: PayloadPredicate[] = [];
    for (const field of fields) {
      const value = filterValue[field.name];
      if (value !== null && value !== undefined) checks.push(check(field, value));
    }
    if (checks.length === 0) return MATCH_ALL;
    if (checks.length === 1) return checks[0] as PayloadPredicate;
    return (payload) => {
      for (const matches of checks) if (!matches(payload)) return false;
      return true;
    };
  };
  return Object.assign(bind, { equalityFields: new Set(fields.filter((f) => f.kind === 'equal').map((f) => f.name)) });
}

const keyString = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/**
 * The record keys a subscription can match when its filter tests the
 * declaration's `key` field by equality, as strings (what a producer keys
 * with), so the engine may read only their partitions; undefined when any key
 * may match. The filter field is the key's own name, by the convention above.
 */
export function keyFilterValue(filterValue: FilterValue | null | undefined, keyField: string): readonly string[] | undefined {
  const value = filterValue?.[keyField];
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.filter((v) => v !== null && v !== undefined).map(keyString);
  return [keyString(value)];
}
