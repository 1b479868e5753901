import { buildSchema, getIntrospectionQuery, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { buildGatewaySchema } from '../../src/graphql/schema.js';
import { type OperationLimits, operationLimitsRule, pagedFieldDefaults } from '../../src/graphql/validation-rules.js';
import { createOperationPolicy, introspectionEnabled, operationPolicyFrom } from '../../src/operations/operation-limits.js';

const schema = buildSchema(`
  type Query { node: Node, orders(first: Int = 20): Connection! }
  type Node { id: ID!, child: Node }
  type Connection { edges: [Edge!]! }
  type Edge { node: Node! }
`);
const limits: OperationLimits = { maxDepth: 4, maxCost: 100, maxAliases: 40, maxTokens: 2000, maxDirectives: 3, maxRootFields: 100 };
const messages = (query: string, rules = [operationLimitsRule(limits, pagedFieldDefaults(schema))]) =>
  validate(schema, parse(query), [...specifiedRules, ...rules]).map((e) => `${e.extensions.code ?? ''}: ${e.message}`);
const codes = (query: string) => messages(query).map((m) => m.split(':')[0]);

/** GraphiQL 5 asks for these (inputValueDeprecation, schemaDescription); the rest only add fields. */
const EXPLORER_INTROSPECTION = getIntrospectionQuery({
  inputValueDeprecation: true,
  schemaDescription: true,
  directiveIsRepeatable: true,
  specifiedByUrl: true,
  oneOf: true,
});

describe('operation limits', () => {
  it('should let an operation within the limits through', () => {
    expect(codes('{ node { child { child { id } } } }')).toEqual([]);
    expect(codes('{ orders(first: 10) { edges { node { id } } } }')).toEqual([]);
  });

  it('should refuse nesting deeper than the limit, also through fragments, naming the setting', () => {
    expect(messages('{ node { child { child { child { id } } } } }')).toEqual([
      'QUERY_TOO_COMPLEX: the operation nests 5 fields deep; the limit is 4 (GRAPHQL_MAX_DEPTH)',
    ]);
    expect(codes('{ node { ...deep } } fragment deep on Node { child { child { child { id } } } }')).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('should count introspection fields in depth and cost like any other field', () => {
    expect(messages('{ __schema { types { fields { type { ofType { name } } } } } }')).toEqual([
      'QUERY_TOO_COMPLEX: the operation nests 6 fields deep; the limit is 4 (GRAPHQL_MAX_DEPTH)',
    ]);
    const schemas = Array.from({ length: 30 }, (_, i) => `s${i}: __schema { types { name kind } }`).join(' ');
    expect(messages(`{ ${schemas} }`)).toEqual([
      'QUERY_TOO_COMPLEX: the operation may resolve about 120 fields: ask for smaller pages or fewer aliases; the limit is 100 (GRAPHQL_MAX_COST)',
    ]);
  });

  it('should count a page once per item it may hold, taking the largest page when `first` is a variable or absent', () => {
    // orders 1 + 40 * (edges 1 + node 1 + id 1) = 121 fields.
    expect(codes('{ orders(first: 40) { edges { node { id } } } }')).toEqual(['QUERY_TOO_COMPLEX']);
    expect(codes('query($n: Int) { orders(first: $n) { edges { node { id } } } }')).toEqual(['QUERY_TOO_COMPLEX']);
    expect(codes('{ orders { edges { node { id } } } }')).toEqual([]);
    // Without `first`, the schema's default page (20) counts: 2 x (1 + 20 x 3) = 122 fields.
    expect(codes('{ a: orders { edges { node { id } } } b: orders { edges { node { id } } } }')).toEqual(['QUERY_TOO_COMPLEX']);
    expect(pagedFieldDefaults(schema)).toEqual(new Map([['orders', 20]]));
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

  it('should add up aliases into the cost', () => {
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: node { id child { id } }`).join(' ');
    expect(codes(`{ ${aliases} }`)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('should refuse more aliases than the limit, counting those in fragments, whatever they cost', () => {
    const aliases = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `a${from + i}: __typename`).join(' ');
    expect(codes(`{ ${aliases(40)} }`)).toEqual([]);
    expect(messages(`{ ${aliases(41)} }`)).toEqual([
      'QUERY_TOO_COMPLEX: the document has 41 aliases; the limit is 40 (GRAPHQL_MAX_ALIASES)',
    ]);
    expect(codes(`{ ${aliases(20)} node { ...F } } fragment F on Node { ${aliases(21, 20)} }`)).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('should refuse more directives than the limit, wherever they are written', () => {
    expect(codes('query($a: Boolean!) { node @include(if: $a) { id @skip(if: $a) ... on Node @include(if: $a) { id } } }')).toEqual([]);
    expect(
      messages(
        'query($a: Boolean!) { node @include(if: $a) { id @skip(if: $a) ...F @skip(if: $a) } } fragment F on Node { id @skip(if: $a) }',
      ),
    ).toEqual(['QUERY_TOO_COMPLEX: the document has 4 directives; the limit is 3 (GRAPHQL_MAX_DIRECTIVES)']);
  });

  it('should refuse more root fields than the limit, counting fragments at the root', () => {
    const tight = [operationLimitsRule({ ...limits, maxRootFields: 2 })];
    expect(messages('{ node { id } __typename }', tight)).toEqual([]);
    expect(messages('{ node { id } ...R } fragment R on Query { __typename a: __typename }', tight)).toEqual([
      'QUERY_TOO_COMPLEX: the operation asks for 3 root fields; the limit is 2 (GRAPHQL_MAX_ROOT_FIELDS)',
    ]);
  });
});

describe('the operation policy shared by the transports', () => {
  const policy = createOperationPolicy({ limits: { ...limits, maxTokens: 50 }, introspection: false });
  const screenedCodes = (query: string) => {
    const result = policy.screen(query);
    return 'errors' in result ? result.errors.map((e) => e.extensions.code) : [];
  };

  it('should stop parsing at the token limit and refuse the document as QUERY_TOO_COMPLEX naming the setting', () => {
    expect(screenedCodes(`{ ${'__typename '.repeat(48)}}`)).toEqual([]);
    const refused = policy.screen(`{ ${'__typename '.repeat(49)}}`);
    expect('errors' in refused && refused.errors.map((e) => [e.extensions.code, e.message])).toEqual([
      ['QUERY_TOO_COMPLEX', 'the document has more than 50 tokens; the limit is 50 (GRAPHQL_MAX_TOKENS)'],
    ]);
  });

  it('should answer a syntax error as GRAPHQL_PARSE_FAILED, and the limits its syntax shows before validation', () => {
    expect(screenedCodes('{ node { id }')).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(screenedCodes('{ node { child { child { child { id } } } } }')).toEqual(['QUERY_TOO_COMPLEX']);
  });

  it('should refuse introspection naming GRAPHQL_INTROSPECTION, and suggest no field names, when introspection is off', () => {
    const gateway = buildGatewaySchema();
    const errors = (query: string, introspection: boolean) => {
      const on = createOperationPolicy({ limits, introspection });
      return validate(gateway, parse(query), [...specifiedRules, ...on.validationRules], on.validationOptions).map((e) => e.message);
    };
    expect(errors('{ __schema { queryType { name } } }', false)).toEqual([
      'introspection is turned off on this gateway (GRAPHQL_INTROSPECTION=false)',
    ]);
    expect(errors('{ __schema { queryType { name } } }', true)).toEqual([]);
    expect(errors('{ acount(id: "a") { id } }', true).join()).toContain('Did you mean "account"?');
    expect(errors('{ acount(id: "a") { id } }', false)).toEqual(['Cannot query field "acount" on type "Query".']);
  });

  it('should turn introspection on by default in development only', () => {
    const settings = (env: Record<string, string>) => loadConfig({ AUTH_JWT_SECRET: 'x'.repeat(32), ...env });
    expect(introspectionEnabled(settings({ NODE_ENV: 'development' }))).toBe(true);
    expect(introspectionEnabled(settings({ NODE_ENV: 'production' }))).toBe(false);
    expect(introspectionEnabled(settings({ NODE_ENV: 'test' }))).toBe(false);
    expect(introspectionEnabled(settings({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' }))).toBe(true);
    expect(introspectionEnabled(settings({ NODE_ENV: 'development', GRAPHQL_INTROSPECTION: 'false' }))).toBe(false);
  });

  it("should let the explorer's own introspection query through with the default limits", () => {
    const defaults = operationPolicyFrom(loadConfig({ NODE_ENV: 'development' }), buildGatewaySchema());
    const screened = defaults.screen(EXPLORER_INTROSPECTION);
    expect('errors' in screened ? screened.errors.map((e) => e.message) : []).toEqual([]);
    const rules = [...specifiedRules, ...defaults.validationRules];
    expect(validate(buildGatewaySchema(), parse(EXPLORER_INTROSPECTION), rules, defaults.validationOptions)).toEqual([]);
  });
});
