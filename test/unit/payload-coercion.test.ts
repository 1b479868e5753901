import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLObjectType, GraphQLScalarType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { toOrderSettledEvent } from '../../src/domain/order-event.js';
import { DateTime, MinorAmount } from '../../src/graphql/scalars.js';
import { buildGatewaySchema } from '../../src/graphql/schema.js';
import {
  compilePayloadCoercion,
  type PayloadCoercion,
  readDateTime,
  readMinorAmount,
  UnsupportedPayloadTypeError,
} from '../../src/subscriptions/payload-coercion.js';
import { sampleOrder } from '../support/sample-order.js';

const typeDefs = /* GraphQL */ `
  scalar MinorAmount
  scalar DateTime
  scalar Json
  scalar Strict
  enum TopupStatus { DONE FAILED }
  type Money { amount: MinorAmount! currency: String! }
  type Line { sku: String! quantity: Int! price: Money }
  type Topup {
    topupId: ID!
    count: Int
    ratio: Float
    done: Boolean
    amount: MinorAmount!
    completedAt: DateTime!
    status: TopupStatus!
    note: String
    total: Money
    lines: [Line!]
    tags: [String]!
    matrix: [[Int!]!]
    extra: Json
    strict: Strict
    parent: Topup
  }
  union Either = Money | Line
  interface Node { id: ID! }
  type WithUnion { either: Either }
  type WithInterface { node: Node }
  type Query { topup: Topup, u: WithUnion, i: WithInterface }
`;

// Internal enum values differ from names, as a resolver map may make them; schema built without the project's scalars.
const schema: GraphQLSchema = makeExecutableSchema({
  typeDefs,
  resolvers: {
    TopupStatus: { DONE: 'done', FAILED: 'failed' },
    Strict: new GraphQLScalarType({
      name: 'Strict',
      parseValue(value) {
        if (value !== 'ok') throw new Error('not ok');
        return 'OK';
      },
    }),
  },
});
const objectType = (s: GraphQLSchema, name: string) => {
  const type = s.getType(name);
  if (!(type instanceof GraphQLObjectType)) throw new Error(`${name} is not an object type`);
  return type;
};
const coerceTopup = compilePayloadCoercion(objectType(schema, 'Topup'));

const topup = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  topupId: 't-1',
  amount: '500',
  completedAt: '2026-11-24T09:30:00.012Z',
  status: 'DONE',
  tags: [],
  ...overrides,
});

const coercedValue = (result: PayloadCoercion) => {
  if (!result.ok) throw new Error(`rejected at ${result.path}`);
  return result.value;
};
const fieldOf = (json: unknown, field: string) => coercedValue(coerceTopup(json))[field];
const rejection = (path: string) => ({ ok: false, reason: 'payload_shape', path });

describe('compilePayloadCoercion', () => {
  it('should type a whole payload: amounts as bigint, instants as Date, enums as their internal values, absent nullables as null', () => {
    const result = coerceTopup(
      topup({
        count: 3,
        ratio: 0.5,
        done: true,
        note: 'hi',
        total: { amount: 9_007_199_254_740_993n.toString(), currency: 'USD' },
        lines: [{ sku: 'a', quantity: 2, price: null }],
        tags: ['x', null],
        matrix: [[1, 2], []],
        extra: { any: ['thing'] },
        strict: 'ok',
      }),
    );
    expect(result).toEqual({
      ok: true,
      value: {
        topupId: 't-1',
        count: 3,
        ratio: 0.5,
        done: true,
        amount: 500n,
        completedAt: new Date('2026-11-24T09:30:00.012Z'),
        status: 'done',
        note: 'hi',
        total: { amount: 9_007_199_254_740_993n, currency: 'USD' },
        lines: [{ sku: 'a', quantity: 2, price: null }],
        tags: ['x', null],
        matrix: [[1, 2], []],
        extra: { any: ['thing'] },
        strict: 'OK',
        parent: null,
      },
    });
  });

  it('should leave out JSON fields the payload type does not declare', () => {
    const value = coercedValue(coerceTopup(topup({ secret: 'x', total: { amount: '1', currency: 'EUR', rate: 2 } })));
    expect(value).not.toHaveProperty('secret');
    expect(value.total).toEqual({ amount: 1n, currency: 'EUR' });
  });

  it.each([
    ['topupId', 't-1', 't-1'],
    ['topupId', 42, '42'],
    ['count', 2 ** 31 - 1, 2 ** 31 - 1],
    ['count', -(2 ** 31), -(2 ** 31)],
    ['ratio', 1, 1],
    ['ratio', -0.25, -0.25],
    ['done', false, false],
    ['amount', '0', 0n],
    ['amount', 1999, 1999n],
    ['amount', '-5', -5n],
    ['amount', '1000000000000000000000', 10n ** 21n],
    ['completedAt', '2026-11-24T10:30:00.000+01:00', new Date('2026-11-24T09:30:00.000Z')],
    ['completedAt', '2028-02-29T00:00:00Z', new Date('2028-02-29T00:00:00.000Z')],
    ['status', 'FAILED', 'failed'],
    ['note', null, null],
  ])('should read %s %j as %s', (field, json, expected) => {
    expect(fieldOf(topup({ [field]: json }), field)).toEqual(expected);
  });

  it.each([
    ['topupId', 1.5],
    ['topupId', true],
    ['count', 2 ** 31],
    ['count', 1.5],
    ['count', '1'],
    ['ratio', '0.5'],
    ['done', 'true'],
    ['done', 1],
    ['note', 7],
    ['amount', '1.5'],
    ['amount', 1.5],
    ['amount', ''],
    ['amount', '12 USD'],
    ['amount', 2 ** 60],
    ['amount', true],
    ['completedAt', 'yesterday'],
    ['completedAt', '2026-02-30T00:00:00.000Z'],
    ['completedAt', '2026-11-24'],
    ['completedAt', '2026-11-24T25:00:00.000Z'],
    ['completedAt', 1_764_000_000_000],
    ['status', 'done'],
    ['status', 'CANCELLED'],
    ['status', 1],
    ['strict', 'nope'],
  ])('should reject %s %j as payload_shape at its path', (field, json) => {
    expect(coerceTopup(topup({ [field]: json }))).toEqual(rejection(`data.${field}`));
  });

  it.each([['topupId'], ['amount'], ['completedAt'], ['status'], ['tags']])(
    'should reject a payload whose non-null %s is missing or null',
    (field) => {
      expect(coerceTopup(topup({ [field]: undefined }))).toEqual(rejection(`data.${field}`));
      expect(coerceTopup(topup({ [field]: null }))).toEqual(rejection(`data.${field}`));
    },
  );

  it('should read nested objects and name the nested path of a wrong value', () => {
    expect(fieldOf(topup({ total: null }), 'total')).toBeNull();
    expect(coerceTopup(topup({ total: { amount: 'ten', currency: 'USD' } }))).toEqual(rejection('data.total.amount'));
    expect(coerceTopup(topup({ total: { amount: '10' } }))).toEqual(rejection('data.total.currency'));
    expect(coerceTopup(topup({ total: 'USD 10' }))).toEqual(rejection('data.total'));
    expect(coerceTopup(topup({ total: [{ amount: '10', currency: 'USD' }] }))).toEqual(rejection('data.total'));
  });

  it('should read lists item by item and name the index of a wrong item', () => {
    const lines = [
      { sku: 'a', quantity: 1 },
      { sku: 'b', quantity: 'two' },
    ];
    expect(coerceTopup(topup({ lines }))).toEqual(rejection('data.lines[1].quantity'));
    expect(coerceTopup(topup({ lines: [{ sku: 'a', quantity: 1 }, null] }))).toEqual(rejection('data.lines[1]'));
    expect(coerceTopup(topup({ lines: { sku: 'a', quantity: 1 } }))).toEqual(rejection('data.lines'));
    expect(coerceTopup(topup({ lines: [{ sku: 'a', quantity: 1, price: { amount: 5, currency: 1 } }] }))).toEqual(
      rejection('data.lines[0].price.currency'),
    );
    expect(coerceTopup(topup({ matrix: [[1], [2, 3.5]] }))).toEqual(rejection('data.matrix[1][1]'));
    expect(coerceTopup(topup({ matrix: [null] }))).toEqual(rejection('data.matrix[0]'));
    expect(fieldOf(topup({ lines: [] }), 'lines')).toEqual([]);
  });

  it('should follow a type that refers to itself', () => {
    const value = coercedValue(coerceTopup(topup({ parent: topup({ topupId: 't-0', parent: topup({ topupId: 't-root' }) }) })));
    expect((value.parent as { parent: { topupId: string } }).parent.topupId).toBe('t-root');
    expect(coerceTopup(topup({ parent: topup({ parent: { topupId: 't-root' } }) }))).toEqual(rejection('data.parent.parent.amount'));
  });

  it.each([
    ['an array', [topup()]],
    ['a string', 'topup'],
    ['a number', 5],
    ['null', null],
  ])('should reject a payload that is %s at the root path', (_, json) => {
    expect(coerceTopup(json)).toEqual(rejection('data'));
  });

  it('should start reject paths at the root the caller names', () => {
    const coerce = compilePayloadCoercion(objectType(schema, 'Money'), { rootPath: 'value' });
    expect(coerce({ amount: 'x', currency: 'USD' })).toEqual(rejection('value.amount'));
  });

  it('should refuse at compile time a payload holding a union or an interface, naming the field', () => {
    expect(() => compilePayloadCoercion(objectType(schema, 'WithUnion'))).toThrow(UnsupportedPayloadTypeError);
    expect(() => compilePayloadCoercion(objectType(schema, 'WithUnion'))).toThrow('WithUnion.either is Either');
    expect(() => compilePayloadCoercion(objectType(schema, 'WithInterface'))).toThrow('WithInterface.node is Node');
  });

  it('should type an order.settled payload into exactly the Order the resolvers return today', () => {
    const order = sampleOrder({ balanceAfter: 9_007_199_254_740_993n });
    const coerceOrder = compilePayloadCoercion(objectType(buildGatewaySchema(), 'Order'));
    const { data } = toOrderSettledEvent('evt-1', order);
    expect(coerceOrder(JSON.parse(JSON.stringify(data)))).toEqual({ ok: true, value: order });
    expect(coerceOrder({ ...data, reference: undefined })).toEqual({ ok: true, value: order });
    expect(coerceOrder({ ...data, status: 'PENDING' })).toEqual(rejection('data.status'));
  });
});

describe('the scalar readers agree with the schema scalars', () => {
  const accepts = (parse: (v: unknown) => unknown, v: unknown) => {
    try {
      return { ok: true, value: parse(v) };
    } catch {
      return { ok: false };
    }
  };
  const asResult = (value: unknown) => (value === undefined ? { ok: false } : { ok: true, value });

  it.each([['1999'], [1999], ['-5'], ['0'], ['1000000000000000000000'], ['1.5'], [1.5], ['ten'], [''], [true], [null], [2 ** 60], ['1e3']])(
    'should read MinorAmount %j as the scalar does',
    (v) => {
      expect(asResult(readMinorAmount(v))).toEqual(accepts((x) => MinorAmount.parseValue(x), v));
    },
  );

  it.each([
    ['2026-11-24T09:30:00.000Z'],
    ['2026-11-24T09:30:00Z'],
    ['2026-11-24T09:30:00.123456789+05:30'],
    ['2028-02-29T00:00:00Z'],
    ['2026-02-29T00:00:00Z'],
    ['2026-04-31T00:00:00Z'],
    ['2026-13-01T00:00:00Z'],
    ['2026-11-24T24:61:00Z'],
    ['2026-11-24 09:30:00Z'],
    ['2026-11-24T09:30:00'],
    [1_764_000_000_000],
    [null],
  ])('should read DateTime %j as the scalar does', (v) => {
    expect(asResult(readDateTime(v))).toEqual(accepts((x) => DateTime.parseValue(x), v));
  });
});
