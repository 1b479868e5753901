import { GraphQLError, Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DateTime, MinorAmount } from '../../src/graphql/scalars.js';

/** The error `run` throws; a run that returns fails the test here, not silently in a skipped catch. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error, nothing was thrown');
}

describe('MinorAmount', () => {
  it.each([
    ['1999', 1999n],
    [1999, 1999n],
    ['1000000000000000000000', 10n ** 21n],
    ['-5', -5n],
  ])('should read %j as %s (the domain decides what is allowed)', (input, expected) => {
    expect(MinorAmount.parseValue(input)).toBe(expected);
  });

  it.each([['1.5'], [1.5], ['ten'], [''], [true], [null], [2 ** 60]])('should refuse %j as BAD_USER_INPUT', (input) => {
    const error = thrownBy(() => MinorAmount.parseValue(input));
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
  });

  it('should read literals and write bigints as strings of digits', () => {
    expect(MinorAmount.parseLiteral({ kind: Kind.STRING, value: '42' }, {})).toBe(42n);
    expect(MinorAmount.parseLiteral({ kind: Kind.INT, value: '42' }, {})).toBe(42n);
    expect(() => MinorAmount.parseLiteral({ kind: Kind.FLOAT, value: '4.2' }, {})).toThrow(GraphQLError);
    expect(MinorAmount.serialize(9_007_199_254_740_993n)).toBe('9007199254740993');
  });
});

describe('DateTime', () => {
  it('should write UTC with milliseconds and read ISO 8601 instants with an offset', () => {
    expect(DateTime.serialize(new Date('2026-11-24T09:30:00Z'))).toBe('2026-11-24T09:30:00.000Z');
    expect(DateTime.parseValue('2026-11-24T10:30:00.000+01:00')).toEqual(new Date('2026-11-24T09:30:00.000Z'));
  });

  it.each([
    ['yesterday'],
    ['2026-11-24'],
    ['2026-13-40T00:00:00Z'],
    ['2026-02-30T00:00:00Z'],
    ['2026-04-31T12:00:00+02:00'],
    ['2026-11-24T25:00:00Z'],
    [1732440600000],
  ])('should refuse %j as BAD_USER_INPUT', (input) => {
    const error = thrownBy(() => DateTime.parseValue(input));
    expect(error).toBeInstanceOf(GraphQLError);
    expect((error as GraphQLError).message).toMatch(/DateTime must be an ISO 8601 instant/);
    expect((error as GraphQLError).extensions.code).toBe('BAD_USER_INPUT');
  });

  it('should accept the 29th of February in a leap year', () => {
    expect(DateTime.parseValue('2028-02-29T00:00:00Z')).toEqual(new Date(Date.UTC(2028, 1, 29)));
  });
});
