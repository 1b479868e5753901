import { type DocumentNode, GraphQLError, type GraphQLSchema, type ParseOptions, parse, type ValidationRule } from 'graphql';
import {
  type DefaultPages,
  limitViolations,
  noIntrospectionRule,
  type OperationLimits,
  operationLimitsRule,
  pagedFieldDefaults,
  tooComplex,
} from '../graphql/validation-rules.js';

export type { OperationLimits } from '../graphql/validation-rules.js';

export interface OperationPolicyOptions {
  limits: OperationLimits;
  /** What a paged field costs without `first` (pagedFieldDefaults of the schema). @default none: 1 */
  defaultPages?: DefaultPages;
  /** Whether `__schema` and `__type` may be asked for; off, validation errors carry no "Did you mean ...?" either. */
  introspection: boolean;
}

/** What every transport applies to a document, defined once: HTTP (Apollo), graphql-ws, and any later one. */
export interface OperationPolicy {
  readonly limits: OperationLimits;
  /** For graphql-js's (or Apollo's) `parse`: stops at the first token over the limit. */
  readonly parseOptions: ParseOptions;
  /** Added to GraphQL's own rules. */
  readonly validationRules: readonly ValidationRule[];
  /** For `validate`: suggestions name fields a client could not otherwise learn with introspection off. */
  readonly validationOptions: { readonly hideSuggestions: boolean };
  /**
   * Parses `query` within the token limit and checks the limits its syntax shows, before GraphQL's own validation
   * runs: a refused document costs work in proportion to its size. Returns the document, or the refusals
   * (QUERY_TOO_COMPLEX), or a syntax error (GRAPHQL_PARSE_FAILED).
   */
  screen(query: string): ScreenResult;
}

export type ScreenResult = { readonly document: DocumentNode } | { readonly errors: readonly GraphQLError[] };

/** graphql-js's message when `maxTokens` stops the parser (graphql 16 spells it "Document contains more that N tokens"). */
const TOKEN_LIMIT = /Document contains more tha[nt] \d+ tokens/;

export function createOperationPolicy({ limits, introspection, defaultPages = new Map() }: OperationPolicyOptions): OperationPolicy {
  const parseOptions: ParseOptions = { maxTokens: limits.maxTokens };
  return {
    limits,
    parseOptions,
    validationRules: [operationLimitsRule(limits, defaultPages), ...(introspection ? [] : [noIntrospectionRule])],
    validationOptions: { hideSuggestions: !introspection },
    screen(query) {
      let document: DocumentNode;
      try {
        document = parse(query, parseOptions);
      } catch (error) {
        return { errors: [parseRefusal(error, limits)] };
      }
      const errors = limitViolations(document, limits, defaultPages);
      return errors.length > 0 ? { errors } : { document };
    },
  };
}

/** The parser's error with its contract code: over the token limit is QUERY_TOO_COMPLEX, anything else a syntax error. */
export function parseRefusal(error: unknown, limits: OperationLimits): GraphQLError {
  const message = error instanceof Error ? error.message : String(error);
  if (TOKEN_LIMIT.test(message)) return tooComplex(`the document has more than ${limits.maxTokens} tokens`, 'maxTokens', limits.maxTokens);
  const graphqlError = error instanceof GraphQLError ? error : undefined;
  return new GraphQLError(message, {
    ...(graphqlError?.nodes && { nodes: graphqlError.nodes }),
    ...(graphqlError?.source && { source: graphqlError.source }),
    ...(graphqlError?.positions && { positions: graphqlError.positions }),
    extensions: { code: 'GRAPHQL_PARSE_FAILED' },
  });
}

/** Whether an error (as Apollo reports its parse failures) is the parser stopping at the token limit. */
export const isTokenLimitError = (error: unknown): boolean => error instanceof Error && TOKEN_LIMIT.test(error.message);

/** The settings the policy is built from (src/config.ts). */
export interface OperationSettings {
  NODE_ENV: string;
  GRAPHQL_INTROSPECTION?: boolean | undefined;
  GRAPHQL_MAX_DEPTH: number;
  GRAPHQL_MAX_COST: number;
  GRAPHQL_MAX_ALIASES: number;
  GRAPHQL_MAX_TOKENS: number;
  GRAPHQL_MAX_DIRECTIVES: number;
  GRAPHQL_MAX_ROOT_FIELDS: number;
}

/** Introspection is on in development unless turned off, and off elsewhere unless turned on. */
export const introspectionEnabled = (settings: OperationSettings): boolean =>
  settings.GRAPHQL_INTROSPECTION ?? settings.NODE_ENV === 'development';

export function operationPolicyFrom(settings: OperationSettings, schema: GraphQLSchema): OperationPolicy {
  return createOperationPolicy({
    defaultPages: pagedFieldDefaults(schema),
    introspection: introspectionEnabled(settings),
    limits: {
      maxDepth: settings.GRAPHQL_MAX_DEPTH,
      maxCost: settings.GRAPHQL_MAX_COST,
      maxAliases: settings.GRAPHQL_MAX_ALIASES,
      maxTokens: settings.GRAPHQL_MAX_TOKENS,
      maxDirectives: settings.GRAPHQL_MAX_DIRECTIVES,
      maxRootFields: settings.GRAPHQL_MAX_ROOT_FIELDS,
    },
  });
}
