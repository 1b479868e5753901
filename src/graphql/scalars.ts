import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

const invalid = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

function parseMinorAmount(value: unknown): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalid('MinorAmount must be an integer number of minor units');
    return BigInt(value);
  }
  if (typeof value === 'string' && /^-?\d{1,30}$/.test(value)) return BigInt(value);
  throw invalid('MinorAmount must be a string of decimal digits, e.g. "1999"');
}

function literalOf(ast: ValueNode): unknown {
  if (ast.kind === Kind.INT) return Number(ast.value);
  if (ast.kind === Kind.STRING) return ast.value;
  if (ast.kind === Kind.FLOAT) return Number(ast.value);
  return undefined;
}

/** Integer minor units as a string of digits. Signs pass the scalar so the domain can say "must be positive". */
export const MinorAmount = new GraphQLScalarType<bigint, string>({
  name: 'MinorAmount',
  serialize(value) {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
    throw new GraphQLError('MinorAmount cannot represent a non-integer value');
  },
  parseValue: parseMinorAmount,
  parseLiteral: (ast) => parseMinorAmount(literalOf(ast)),
});

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** True when the day exists in that month: JavaScript reads 2026-02-30 as March 2nd. */
function isCalendarDate(year: number, month: number, day: number): boolean {
  const probe = new Date(Date.UTC(year, month - 1, day));
  return probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}

function parseDateTime(value: unknown): Date {
  const parts = typeof value === 'string' ? ISO_INSTANT.exec(value) : null;
  if (typeof value === 'string' && parts && isCalendarDate(Number(parts[1]), Number(parts[2]), Number(parts[3]))) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw invalid('DateTime must be an ISO 8601 instant such as "2026-11-24T09:30:00.000Z"');
}

/** UTC instants, ISO 8601 with milliseconds. */
export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize(value) {
    const date = value instanceof Date ? value : new Date(String(value));
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return date.toISOString();
  },
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});
