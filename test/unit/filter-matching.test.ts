import { makeExecutableSchema } from '@graphql-tools/schema';
import { buildSchema, coerceInputValue, GraphQLInputObjectType, GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Order } from '../../src/domain/order.js';
import { toOrderSettledEvent } from '../../src/domain/order-event.js';
import { AppError } from '../../src/errors.js';
import { DateTime, MinorAmount } from '../../src/graphql/scalars.js';
import { buildGatewaySchema } from '../../src/graphql/schema.js';
import { compileFilter, type FilterValue, keyFilterValue } from '../../src/subscriptions/filter-matching.js';
import { type CoercedPayload, compilePayloadCoercion } from '../../src/subscriptions/payload-coercion.js';
import { filterArgumentOf } from '../../src/subscriptions/topic-catalog.js';

const typeDefs = /* GraphQL */ `
  scalar MinorAmount
  scalar DateTime
  enum TopupStatus { DONE FAILED }
  type Topup {
    topupId: ID!
    accountId: ID!
    phone: String
    amount: MinorAmount!
    status: TopupStatus!
    completedAt: DateTime!
    attempts: Int
    ratio: Float
    urgent: Boolean
    tags: [String!]
  }
  input TopupFilter {
    topupId: String
    accountId: ID
    phone: [String!]
    status: [TopupStatus!]
    urgent: Boolean
    completedAt: DateTime
    minAmount: MinorAmount
    maxAmount: MinorAmount
    minCompletedAt: DateTime
    maxCompletedAt: DateTime
    minAttempts: Int
    maxAttempts: Int
    minRatio: Float
    maxRatio: Float
  }
  type Query { topup(filter: TopupFilter): Topup }
`;

const withProjectScalars = makeExecutableSchema({ typeDefs, resolvers: { MinorAmount, DateTime } });
const withPlainScalars = buildSchema(typeDefs);

const objectType = (schema: GraphQLSchema, name: string) => {
  const type = schema.getType(name);
  if (!(type instanceof GraphQLObjectType)) throw new Error(`${name} is not an object type`);
  return type;
};
const inputType = (schema: GraphQLSchema, name: string) => {
  const type = schema.getType(name);
  if (!(type instanceof GraphQLInputObjectType)) throw new Error(`${name} is not an input type`);
  return type;
};

/** The filter's rules as the catalog decides them for a declaration, compiled as the engine will compile them. */
const compileFrom = (schema: GraphQLSchema, filterName: string, payloadName: string) => {
  const payloadType = objectType(schema, payloadName);
  return compileFilter(filterArgumentOf(`Subscription.${filterName}`, inputType(schema, filterName), payloadType), payloadType);
};

/** The filter argument as a resolver receives it: the client's JSON after GraphQL's input coercion. */
const filterArg = (schema: GraphQLSchema, name: string, json: Record<string, unknown>) =>
  coerceInputValue(json, inputType(schema, name)) as FilterValue;

function payloadOf(schema: GraphQLSchema, name: string, json: Record<string, unknown>): CoercedPayload {
  const result = compilePayloadCoercion(objectType(schema, name))(json);
  if (!result.ok) throw new Error(`fixture rejected at ${result.path}`);
  return result.value;
}

const topupJson = (overrides: Record<string, unknown> = {}) => ({
  topupId: 't-1',
  accountId: 'acc-1',
  phone: '+15550100',
  amount: '9',
  status: 'DONE',
  completedAt: '2026-11-24T09:30:00.000Z',
  attempts: 2,
  ratio: 0.5,
  urgent: false,
  ...overrides,
});

const topupFilter = compileFrom(withProjectScalars, 'TopupFilter', 'Topup');
const matchesTopup = (filter: Record<string, unknown> | null, topup: Record<string, unknown>) =>
  topupFilter(filter === null ? null : filterArg(withProjectScalars, 'TopupFilter', filter))(
    payloadOf(withProjectScalars, 'Topup', topupJson(topup)),
  );

describe('compileFilter', () => {
  it('should match every payload when the filter is absent, null or has only null fields', () => {
    expect(matchesTopup(null, {})).toBe(true);
    expect(topupFilter(undefined)(payloadOf(withProjectScalars, 'Topup', topupJson()))).toBe(true);
    expect(matchesTopup({}, {})).toBe(true);
    expect(matchesTopup({ accountId: null, minAmount: null, status: null }, {})).toBe(true);
  });

  it.each([
    [{ accountId: 'acc-1' }, {}, true],
    [{ accountId: 'acc-2' }, {}, false],
    [{ topupId: 't-1' }, {}, true],
    [{ urgent: false }, {}, true],
    [{ urgent: true }, {}, false],
    [{ urgent: false }, { urgent: null }, false],
    [{ phone: ['+15550199', '+15550100'] }, {}, true],
    [{ phone: ['+15550199'] }, {}, false],
    [{ phone: '+15550100' }, {}, true],
    [{ phone: ['+15550100'] }, { phone: null }, false],
    [{ phone: [] }, {}, false],
    [{ status: ['FAILED', 'DONE'] }, {}, true],
    [{ status: ['FAILED'] }, {}, false],
  ])('should match equality filter %j against payload %j: %s', (filter, topup, expected) => {
    expect(matchesTopup(filter, topup)).toBe(expected);
  });

  it('should compare amounts as integers, never as strings', () => {
    expect(matchesTopup({ minAmount: '10' }, { amount: '9' })).toBe(false);
    expect(matchesTopup({ minAmount: '10' }, { amount: '10' })).toBe(true);
    expect(matchesTopup({ minAmount: '10' }, { amount: '100' })).toBe(true);
    expect(matchesTopup({ maxAmount: '10' }, { amount: '9' })).toBe(true);
    expect(matchesTopup({ maxAmount: '10' }, { amount: '100' })).toBe(false);
    expect(matchesTopup({ minAmount: 9, maxAmount: 9 }, { amount: '9' })).toBe(true);
    // Beyond a double's precision: 2^53 + 1 > 2^53 must still hold.
    expect(matchesTopup({ minAmount: '9007199254740993' }, { amount: '9007199254740992' })).toBe(false);
    expect(matchesTopup({ minAmount: '9007199254740993' }, { amount: '9007199254740993' })).toBe(true);
  });

  it('should compare instants as instants, whatever offset either is written in', () => {
    const at = { completedAt: '2026-11-24T09:30:00.000Z' };
    expect(matchesTopup({ minCompletedAt: '2026-11-24T10:30:00+01:00' }, at)).toBe(true);
    expect(matchesTopup({ maxCompletedAt: '2026-11-24T10:30:00+01:00' }, at)).toBe(true);
    expect(matchesTopup({ minCompletedAt: '2026-11-24T10:30:00.001+01:00' }, at)).toBe(false);
    expect(matchesTopup({ maxCompletedAt: '2026-11-24T09:29:59.999Z' }, at)).toBe(false);
    // As strings "2026-11-24T05:00:00-05:00" < "2026-11-24T09:30:00.000Z", as instants it is after.
    expect(matchesTopup({ minCompletedAt: '2026-11-24T05:00:00-05:00' }, at)).toBe(false);
    expect(matchesTopup({ completedAt: '2026-11-24T04:30:00-05:00' }, at)).toBe(true);
    expect(matchesTopup({ completedAt: '2026-11-24T09:30:00.001Z' }, at)).toBe(false);
  });

  it('should bound Int and Float fields inclusively and leave a payload without the value out', () => {
    expect(matchesTopup({ minAttempts: 2, maxAttempts: 2 }, { attempts: 2 })).toBe(true);
    expect(matchesTopup({ minAttempts: 3 }, { attempts: 2 })).toBe(false);
    expect(matchesTopup({ maxAttempts: 1 }, { attempts: 2 })).toBe(false);
    expect(matchesTopup({ minAttempts: 0 }, { attempts: null })).toBe(false);
    expect(matchesTopup({ maxAttempts: 10 }, { attempts: null })).toBe(false);
    expect(matchesTopup({ minRatio: 0.5, maxRatio: 0.75 }, { ratio: 0.5 })).toBe(true);
    expect(matchesTopup({ minRatio: 0.51 }, { ratio: 0.5 })).toBe(false);
  });

  it('should require every given field to match', () => {
    const filter = { accountId: 'acc-1', status: ['DONE'], minAmount: '5', maxCompletedAt: '2026-12-01T00:00:00Z' };
    expect(matchesTopup(filter, {})).toBe(true);
    expect(matchesTopup(filter, { accountId: 'acc-2' })).toBe(false);
    expect(matchesTopup(filter, { status: 'FAILED' })).toBe(false);
    expect(matchesTopup(filter, { amount: '4' })).toBe(false);
    expect(matchesTopup(filter, { completedAt: '2026-12-01T00:00:00.001Z' })).toBe(false);
  });

  it('should filter the same when the schema lacks the project scalars and values arrive as JSON', () => {
    const plain = compileFrom(withPlainScalars, 'TopupFilter', 'Topup');
    const payload = payloadOf(withPlainScalars, 'Topup', topupJson({ amount: '9' }));
    expect(plain(filterArg(withPlainScalars, 'TopupFilter', { minAmount: '10' }))(payload)).toBe(false);
    expect(plain(filterArg(withPlainScalars, 'TopupFilter', { minAmount: '9' }))(payload)).toBe(true);
    expect(plain(filterArg(withPlainScalars, 'TopupFilter', { minCompletedAt: '2026-11-24T10:30:00+01:00' }))(payload)).toBe(true);
    expect(plain(filterArg(withPlainScalars, 'TopupFilter', { minCompletedAt: '2026-11-24T05:00:00-05:00' }))(payload)).toBe(false);
  });

  it('should refuse a filter value its scalar cannot read as BAD_USER_INPUT naming the field', () => {
    const plain = compileFrom(withPlainScalars, 'TopupFilter', 'Topup');
    for (const [field, value] of [
      ['minAmount', 'ten'],
      ['maxCompletedAt', 'tomorrow'],
    ] as const) {
      let thrown: unknown;
      try {
        plain({ [field]: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(AppError);
      expect((thrown as AppError).code).toBe('BAD_USER_INPUT');
      expect((thrown as AppError).details).toEqual({ field: `filter.${field}` });
    }
  });

  it('should list the filter fields that test a payload field by equality', () => {
    expect([...topupFilter.equalityFields].sort()).toEqual(['accountId', 'completedAt', 'phone', 'status', 'topupId', 'urgent']);
  });
});

describe('compileFilter on rules the catalog accepts', () => {
  const schema = buildSchema(`${typeDefs}\n input Crossed { phone: ID, topupId: String }`);
  const crossed = compileFrom(schema, 'Crossed', 'Topup');
  const topup = (json: Record<string, unknown>) => payloadOf(schema, 'Topup', topupJson(json));

  it('should match an ID filter on a String payload field and a String filter on an ID one by equality', () => {
    expect(crossed.equalityFields).toEqual(new Set(['phone', 'topupId']));
    expect(crossed(filterArg(schema, 'Crossed', { phone: '+15550100', topupId: 't-1' }))(topup({}))).toBe(true);
    expect(crossed(filterArg(schema, 'Crossed', { phone: '+15550199' }))(topup({}))).toBe(false);
    expect(crossed(filterArg(schema, 'Crossed', { topupId: 't-2' }))(topup({}))).toBe(false);
  });

  it('should refuse rules read against another payload type', () => {
    const payloadType = objectType(withProjectScalars, 'Topup');
    const other = new GraphQLObjectType({ name: 'Other', fields: {} });
    const filter = filterArgumentOf('Subscription.topup', inputType(withProjectScalars, 'TopupFilter'), payloadType);
    expect(() => compileFilter(filter, other)).toThrow(
      'filter field topupId tests Other.topupId, which does not exist: wrong payload type',
    );
  });
});

describe('keyFilterValue', () => {
  it.each([
    [{ accountId: 'acc-1' }, ['acc-1']],
    [{ accountId: ['acc-1', null, 'acc-2'] }, ['acc-1', 'acc-2']],
    [{ accountId: [] }, []],
    [{ accountId: null }, undefined],
    [{ currency: 'USD' }, undefined],
    [null, undefined],
    [undefined, undefined],
  ])('should read the keys of filter %j as %j', (filter, keys) => {
    expect(keyFilterValue(filter, 'accountId')).toEqual(keys);
  });

  it('should write typed keys as a producer would key with them', () => {
    expect(keyFilterValue({ amount: 12n }, 'amount')).toEqual(['12']);
    expect(keyFilterValue({ day: new Date('2026-11-24T09:30:00Z') }, 'day')).toEqual(['2026-11-24T09:30:00.000Z']);
  });
});

describe('orderSettled through the generic matcher', () => {
  const schema = buildGatewaySchema();
  const orderFilter = compileFrom(schema, 'OrderFilter', 'Order');
  const coerceOrder = compilePayloadCoercion(objectType(schema, 'Order'));

  const order = (accountId: string, amount: bigint, currency: string, product: string): Order => ({
    id: `o-${accountId}-${amount}-${currency}-${product}`,
    accountId,
    amount,
    currency,
    product,
    reference: null,
    status: 'SETTLED',
    balanceAfter: 100n,
    idempotencyKey: `k-${amount}`,
    createdAt: new Date('2026-11-24T09:30:00.000Z'),
    settledAt: new Date('2026-11-24T09:30:00.012Z'),
  });
  const orders: Order[] = [];
  for (const accountId of ['acc-1', 'acc-2'])
    for (const amount of [1n, 9n, 10n, 11n, 100n, 9_007_199_254_740_993n])
      for (const currency of ['USD', 'EUR'])
        for (const product of ['phone-topup', 'gift-card']) orders.push(order(accountId, amount, currency, product));

  interface OrderFilter {
    accountId?: string;
    currency?: string;
    product?: string;
    minAmount?: bigint;
  }
  /** The rule orderSettled always had, written out: the generic matcher must decide every order as it does. */
  const matchesFilter = (o: Order, f: OrderFilter) =>
    (f.accountId === undefined || o.accountId === f.accountId) &&
    (f.currency === undefined || o.currency === f.currency) &&
    (f.product === undefined || o.product === f.product) &&
    (f.minAmount === undefined || o.amount >= f.minAmount);

  // The client's JSON for OrderFilter, and the same filter with typed values.
  const filters: Array<[Record<string, unknown>, OrderFilter]> = [
    [{}, {}],
    [{ accountId: 'acc-1' }, { accountId: 'acc-1' }],
    [{ accountId: 'acc-3' }, { accountId: 'acc-3' }],
    [{ currency: 'EUR' }, { currency: 'EUR' }],
    [{ product: 'gift-card' }, { product: 'gift-card' }],
    [{ minAmount: '10' }, { minAmount: 10n }],
    [{ minAmount: 9 }, { minAmount: 9n }],
    [{ minAmount: '0' }, { minAmount: 0n }],
    [{ minAmount: '9007199254740993' }, { minAmount: 9_007_199_254_740_993n }],
    [
      { accountId: 'acc-2', currency: 'USD', product: 'phone-topup', minAmount: '11' },
      { accountId: 'acc-2', currency: 'USD', product: 'phone-topup', minAmount: 11n },
    ],
    [
      { accountId: 'acc-1', minAmount: '100' },
      { accountId: 'acc-1', minAmount: 100n },
    ],
  ];

  it('should decide every order of the table as matchesFilter does', () => {
    const payloads = orders.map((o) => {
      const result = coerceOrder(JSON.parse(JSON.stringify(toOrderSettledEvent('evt', o).data)));
      if (!result.ok) throw new Error(`order rejected at ${result.path}`);
      return result.value;
    });
    const matchedCounts: number[] = [];
    for (const [json, domain] of filters) {
      const predicate = orderFilter(filterArg(schema, 'OrderFilter', json));
      const generic = payloads.map((p) => predicate(p));
      expect(generic, JSON.stringify(json)).toEqual(orders.map((o) => matchesFilter(o, domain)));
      matchedCounts.push(generic.filter(Boolean).length);
    }
    // The table exercises every outcome: all, none and partial matches, "9" below "10" included.
    expect(matchedCounts).toEqual([48, 24, 0, 24, 24, 32, 40, 48, 8, 3, 8]);
  });

  it('should name accountId, the declaration key, among the equality fields and read it as the key', () => {
    expect(orderFilter.equalityFields.has('accountId')).toBe(true);
    expect(keyFilterValue(filterArg(schema, 'OrderFilter', { accountId: 'acc-1', minAmount: '5' }), 'accountId')).toEqual(['acc-1']);
  });
});
