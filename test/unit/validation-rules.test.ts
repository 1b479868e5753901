import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { gatewayValidationRules, operationLimitsRule } from '../../src/graphql/validation-rules.js';

const schema = buildSchema(`
  type Query { node: Node, orders(first: Int = 20): Connection! }
  type Node { id: ID!, child: Node }
  type Connection { edges: [Edge!]! }
  type Edge { node: Node! }
`);
const limits = { maxDepth: 4, maxCost: 100 };
const codes = (query: string, rules = [operationLimitsRule(limits)]) =>
  validate(schema, parse(query), [...specifiedRules, ...rules]).map((e) => e.extensions.code ?? e.message);

describe('operation limits', () => {
  it('should let an operation within the limits through', () => {
    expect(codes('{ node { child { child { id } } } }')).toEqual([]);
    expect(codes('{ orders(first: 10) { edges { node { id } } } }')).toEqual([]);
  });

  it('should refuse nesting deeper than the limit, also through fragments', () => {
    expect(codes('{ node { child { child { child { id } } } } }')).toEqual(['QUERY_TOO_COMPLEX']);
    expect(codes('{ node { ...deep } } fragment deep on Node { child { child { child { id } } } }')).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('should count a page once per item it may hold, taking the largest page when `first` is a variable or absent', () => {
    // orders 1 + 40 * (edges 1 + node 1 + id 1) = 121 fields.
    expect(codes('{ orders(first: 40) { edges { node { id } } } }')).toEqual(['QUERY_TOO_COMPLEX']);
    expect(codes('query($n: Int) { orders(first: $n) { edges { node { id } } } }')).toEqual(['QUERY_TOO_COMPLEX']);
    expect(codes('{ orders { edges { node { id } } } }')).toEqual([]);
  });

  it('should not let a negative or zero `first` shrink the estimate', () => {
    expect(codes('{ orders(first: -2147483648) { edges { node { id } } } }')).toEqual([]);
    const pages = Array.from({ length: 3 }, (_, i) => `p${i}: orders(first: 40) { edges { node { id } } }`).join(' ');
    expect(codes(`{ ${pages} n: orders(first: -2147483648) { edges { node { id } } } }`)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('should measure each fragment once, so fragments spreading each other twice cannot stall validation', () => {
    const chain = Array.from({ length: 60 }, (_, i) => `fragment F${i} on Node { ...F${i + 1} ...F${i + 1} }`).join(' ');
    expect(codes(`{ node { ...F0 } } ${chain} fragment F60 on Node { id }`)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('should add up aliases', () => {
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: node { id child { id } }`).join(' ');
    expect(codes(`{ ${aliases} }`)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it("should leave GraphiQL's introspection query alone, and refuse it only when introspection is off", () => {
    expect(codes(getIntrospectionQuery())).toEqual([]);
    const off = validate(schema, parse('{ __schema { queryType { name } } }'), [
      ...specifiedRules,
      ...gatewayValidationRules({ introspection: false }),
    ]);
    expect(off.map((e) => e.message)).toEqual(['introspection is turned off on this gateway (EXPLORER_ENABLED=false)']);
    expect(
      validate(schema, parse('{ __schema { queryType { name } } }'), [
        ...specifiedRules,
        ...gatewayValidationRules({ introspection: true }),
      ]),
    ).toEqual([]);
  });
});
