import { type GraphQLObjectType, getNamedType } from 'graphql';
import { badInput } from '../errors.js';
import { type CoercedPayload, readDateTime, readMinorAmount } from './payload-coercion.js';
import type { FilterArgument, FilterFieldRule } from './topic-catalog.js';

/**
 * Matches payloads against the filter rules the catalog decided (which input
 * field tests which payload field, by equality, list membership or an
 * inclusive bound): all given fields must match and null or absent ones are
 * ignored. Payloads come from payload-coercion, so amounts are bigint and
 * instants Date: they compare as numbers and instants, never as strings
 * ("9" < "10").
 */

/** A filter argument as GraphQL's input coercion hands it to a resolver. */
export type FilterValue = Readonly<Record<string, unknown>>;
export type PayloadPredicate = (payload: CoercedPayload) => boolean;

/** Binds one subscription's filter argument, once, into the predicate its records are tested with. */
export interface CompiledFilter {
  (filterValue: FilterValue | null | undefined): PayloadPredicate;
  /** The filter fields that test the payload field of the same name by equality (one value or any of a list). */
  readonly equalityFields: ReadonlySet<string>;
}

type Normalize = (filterValue: unknown, where: string) => unknown;

/** What `===`, `<=` and a Set compare correctly: a Date's instant, anything else as it is. */
const comparable = (v: unknown): unknown => (v instanceof Date ? v.getTime() : v);

/**
 * Filter values come from GraphQL's coercion and are already typed when the
 * schema carries the project's scalars; these also read the JSON forms, so a
 * schema built without them filters the same way.
 */
function normalizerFor(typeName: string): Normalize {
  if (typeName === 'MinorAmount') {
    return (v, where) => {
      const amount = readMinorAmount(v);
      if (amount === undefined) throw badInput(`${where} must be an integer amount in minor units`, where);
      return amount;
    };
  }
  if (typeName === 'DateTime') {
    return (v, where) => {
      const instant = readDateTime(v);
      if (instant === undefined) throw badInput(`${where} must be an ISO 8601 instant`, where);
      return instant.getTime();
    };
  }
  return (v) => v;
}

interface Compiled extends FilterFieldRule {
  readonly normalize: Normalize;
}

/** Values are read as the payload field's scalar reads them, so the tested field's type picks the normalizer. */
function compileRule(rule: FilterFieldRule, payloadType: GraphQLObjectType): Compiled {
  const tested = payloadType.getFields()[rule.payloadField];
  if (tested === undefined) {
    throw new Error(`filter field ${rule.name} tests ${payloadType.name}.${rule.payloadField}, which does not exist: wrong payload type`);
  }
  return { ...rule, normalize: normalizerFor(getNamedType(tested.type).name) };
}

const MATCH_ALL: PayloadPredicate = () => true;

function check(field: Compiled, value: unknown): PayloadPredicate {
  const where = `filter.${field.name}`;
  const key = field.payloadField;
  if (field.kind === 'anyOf') {
    // GraphQL wraps a single value given for a list input; a caller bypassing it may not.
    const values: readonly unknown[] = Array.isArray(value) ? value : [value];
    const wanted = new Set(values.filter((v) => v !== null && v !== undefined).map((v) => field.normalize(v, where)));
    return (payload) => wanted.has(comparable(payload[key]));
  }
  const bound = field.normalize(value, where);
  if (field.kind === 'equals') return (payload) => comparable(payload[key]) === bound;
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
 * Compiles the catalog's filter rules against the declaration's payload type
 * (the catalog already refused a broken filter with TopicDeclarationError).
 * Binding a filter value throws BAD_USER_INPUT only for a value the schema's
 * scalars would have refused already.
 */
export function compileFilter(filter: FilterArgument, payloadType: GraphQLObjectType): CompiledFilter {
  const fields = filter.fields.map((rule) => compileRule(rule, payloadType));
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
  const equalityFields = new Set(fields.filter((f) => f.kind === 'equals' || f.kind === 'anyOf').map((f) => f.name));
  return Object.assign(bind, { equalityFields });
}

const keyString = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/**
 * The record keys a subscription can match when its filter tests the
 * declaration's `key` field by equality, as strings (what a producer keys
 * with), so the engine may read only their partitions; undefined when any key
 * may match. The filter field is the key's own name, by the contract's filter convention.
 */
export function keyFilterValue(filterValue: FilterValue | null | undefined, keyField: string): readonly string[] | undefined {
  const value = filterValue?.[keyField];
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.filter((v) => v !== null && v !== undefined).map(keyString);
  return [keyString(value)];
}
