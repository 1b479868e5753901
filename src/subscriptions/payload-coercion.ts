import {
  type GraphQLEnumType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLScalarType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';

/**
 * Reads a decoded record payload as the declaration's payload object type
 * (CONTRACT.md: nested objects and lists allowed, extra JSON fields ignored, a
 * missing non-null field or a value of the wrong kind rejects the record).
 * The result holds what resolvers return for those types elsewhere in the
 * gateway: MinorAmount as bigint, DateTime as Date, enums as their internal
 * values, so the schema's own scalars serialize it unchanged.
 */

export type CoercedPayload = Readonly<Record<string, unknown>>;

export type PayloadCoercion =
  | { readonly ok: true; readonly value: CoercedPayload }
  | {
      readonly ok: false;
      readonly reason: 'payload_shape';
      /** Where the payload went wrong, e.g. `data.amount` or `data.lines[2].sku`, for the log line. */
      readonly path: string;
    };

export type PayloadCoercer = (payload: unknown) => PayloadCoercion;

export interface PayloadCoercionOptions {
  /**
   * The first segment of a reject path: where the payload sat in the record.
   * @default 'data'
   */
  readonly rootPath?: string;
}

/** A declaration whose payload type cannot be read from JSON; start-up names the field and stops. */
export class UnsupportedPayloadTypeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedPayloadTypeError';
  }
}

// Coercers return the typed value, WRONG for a leaf of the wrong kind, or a Mismatch
// that collects the path while unwinding: no path is built while records fit.
const WRONG: unique symbol = Symbol('wrong kind');
class Mismatch {
  /** Innermost first. */
  readonly segments: string[] = [];
}
type Coerce = (value: unknown) => unknown;

const MINOR_AMOUNT = /^-?\d{1,30}$/;
const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** The MinorAmount scalar's input rules (src/graphql/scalars.ts): digits, or a safe integer number. */
export function readMinorAmount(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'string') return MINOR_AMOUNT.test(value) ? BigInt(value) : undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return undefined;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The DateTime scalar's input rules (src/graphql/scalars.ts): an ISO 8601 instant on a day that exists. */
export function readDateTime(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value !== 'string') return undefined;
  const parts = ISO_INSTANT.exec(value);
  if (parts === null) return undefined;
  const month = Number(parts[2]);
  const day = Number(parts[3]);
  // JavaScript reads 2026-02-30 as March 2nd.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(Number(parts[1]), month)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

const orWrong = <T>(value: T | undefined): T | typeof WRONG => (value === undefined ? WRONG : value);

const BUILT_IN_SCALARS: Readonly<Record<string, Coerce>> = {
  String: (v) => (typeof v === 'string' ? v : WRONG),
  // As GraphQL reads an ID input: a string, or an integer number written as one.
  ID: (v) => (typeof v === 'string' ? v : typeof v === 'number' && Number.isInteger(v) ? String(v) : WRONG),
  Int: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX ? v : WRONG),
  Float: (v) => (typeof v === 'number' && Number.isFinite(v) ? v : WRONG),
  Boolean: (v) => (typeof v === 'boolean' ? v : WRONG),
  MinorAmount: (v) => orWrong(readMinorAmount(v)),
  DateTime: (v) => orWrong(readDateTime(v)),
};

function scalarCoercer(type: GraphQLScalarType): Coerce {
  // By name, not by instance: the schema may be built without the project's scalar objects attached.
  const known = BUILT_IN_SCALARS[type.name];
  if (known) return known;
  // Any other custom scalar reads JSON as its own parseValue does.
  return (v) => {
    try {
      return orWrong(type.parseValue(v) as unknown);
    } catch {
      return WRONG;
    }
  };
}

function enumCoercer(type: GraphQLEnumType): Coerce {
  const byName = new Map(type.getValues().map((value) => [value.name, value.value as unknown]));
  return (v) => (typeof v === 'string' && byName.has(v) ? byName.get(v) : WRONG);
}

function mismatchAt(result: unknown, segment: string): Mismatch | undefined {
  if (result === WRONG) {
    const mismatch = new Mismatch();
    mismatch.segments.push(segment);
    return mismatch;
  }
  if (result instanceof Mismatch) {
    result.segments.push(segment);
    return result;
  }
  return undefined;
}

function listCoercer(item: Coerce): Coerce {
  return (v) => {
    if (!Array.isArray(v)) return WRONG;
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const result = item(v[i]);
      const mismatch = mismatchAt(result, `[${i}]`);
      if (mismatch) return mismatch;
      out[i] = result;
    }
    return out;
  };
}

interface FieldCoercer {
  readonly name: string;
  readonly coerce: Coerce;
}

type Memo = Map<GraphQLObjectType, Coerce>;

function objectCoercer(type: GraphQLObjectType, memo: Memo): Coerce {
  const known = memo.get(type);
  if (known) return known;
  const fields: FieldCoercer[] = [];
  const coerce: Coerce = (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return WRONG;
    const json = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const field of fields) {
      const result = field.coerce(json[field.name]);
      const mismatch = mismatchAt(result, field.name);
      if (mismatch) return mismatch;
      out[field.name] = result;
    }
    return out;
  };
  // Registered before its fields are compiled, so a type that refers to itself compiles once.
  memo.set(type, coerce);
  for (const field of Object.values(type.getFields())) {
    fields.push({ name: field.name, coerce: typeCoercer(field.type, memo, `${type.name}.${field.name}`) });
  }
  return coerce;
}

function nullableCoercer(type: GraphQLOutputType, memo: Memo, where: string): Coerce {
  if (isListType(type)) return listCoercer(typeCoercer(type.ofType, memo, where));
  if (isObjectType(type)) return objectCoercer(type, memo);
  if (isScalarType(type)) return scalarCoercer(type);
  if (isEnumType(type)) return enumCoercer(type);
  throw new UnsupportedPayloadTypeError(`${where} is ${String(type)}: a payload holds only objects, lists, scalars and enums`);
}

function typeCoercer(type: GraphQLOutputType, memo: Memo, where: string): Coerce {
  if (isNonNullType(type)) {
    const inner = nullableCoercer(type.ofType, memo, where);
    return (v) => (v === null || v === undefined ? WRONG : inner(v));
  }
  const inner = nullableCoercer(type, memo, where);
  return (v) => (v === null || v === undefined ? null : inner(v));
}

function pathOf(root: string, mismatch: Mismatch): string {
  let path = root;
  for (let i = mismatch.segments.length - 1; i >= 0; i--) {
    const segment = mismatch.segments[i] as string;
    path += segment.startsWith('[') ? segment : `.${segment}`;
  }
  return path;
}

/**
 * Compiles the payload type once into per-field coercers; the returned function
 * runs per record and walks only the JSON. Throws UnsupportedPayloadTypeError
 * for a field whose type JSON cannot carry (an interface or a union).
 */
export function compilePayloadCoercion(payloadType: GraphQLObjectType, options: PayloadCoercionOptions = {}): PayloadCoercer {
  const { rootPath = 'data' } = options;
  const coerce = objectCoercer(payloadType, new Map());
  return (payload) => {
    const result = coerce(payload);
    if (result === WRONG) return { ok: false, reason: 'payload_shape', path: rootPath };
    if (result instanceof Mismatch) return { ok: false, reason: 'payload_shape', path: pathOf(rootPath, result) };
    return { ok: true, value: result as CoercedPayload };
  };
}
