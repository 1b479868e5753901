import {
  type ASTVisitor,
  type DefinitionNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** What one document may ask for; every field counts, introspection's (`__schema`, `__type`, ...) included. */
export interface OperationLimits {
  /** Nesting of fields. */
  readonly maxDepth: number;
  /** Fields resolved, a list field counting its children once per item it may return (`first`). */
  readonly maxCost: number;
  /** Aliased fields written in the document. */
  readonly maxAliases: number;
  /** Lexical tokens of the document; enforced by the parser (`maxTokens`), which stops at the first one over. */
  readonly maxTokens: number;
  /** Directives written in the document. */
  readonly maxDirectives: number;
  /** Fields at the root of one operation, fragments expanded. */
  readonly maxRootFields: number;
}

/** The setting that configures each limit, named in the refusal so an operator knows what to raise. */
export const LIMIT_SETTINGS: Readonly<Record<keyof OperationLimits, string>> = {
  maxDepth: 'GRAPHQL_MAX_DEPTH',
  maxCost: 'GRAPHQL_MAX_COST',
  maxAliases: 'GRAPHQL_MAX_ALIASES',
  maxTokens: 'GRAPHQL_MAX_TOKENS',
  maxDirectives: 'GRAPHQL_MAX_DIRECTIVES',
  maxRootFields: 'GRAPHQL_MAX_ROOT_FIELDS',
};

/** Items a `first` argument may ask for when it is a variable (unknown at validation) or absent. */
const LARGEST_PAGE = 100;

interface Measure {
  readonly depth: number;
  readonly cost: number;
  /** Fields at the level measured, fragments expanded. */
  readonly width: number;
}

const NOTHING: Measure = { depth: 0, cost: 0, width: 0 };

/** Field name -> the page it returns without `first`: read from the schema (pagedFieldDefaults), as the measure has no types. */
export type DefaultPages = ReadonlyMap<string, number>;

/** Every field taking `first` with a default, by name; where two types disagree, the larger default counts. */
export function pagedFieldDefaults(schema: GraphQLSchema): DefaultPages {
  const pages = new Map<string, number>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) {
      const first = field.args.find((argument) => argument.name === 'first')?.defaultValue;
      if (typeof first === 'number') pages.set(field.name, Math.max(pages.get(field.name) ?? 0, Math.min(first, LARGEST_PAGE)));
    }
  }
  return pages;
}

function pageSizeOf(field: FieldNode, defaultPages: DefaultPages): number {
  const first = field.arguments?.find((argument) => argument.name.value === 'first');
  if (!first) return field.selectionSet ? (defaultPages.get(field.name.value) ?? 1) : 1;
  // A negative or zero `first` is refused when resolved; here it must not shrink the estimate.
  if (first.value.kind === Kind.INT) return Math.max(1, Math.min(Number(first.value.value), LARGEST_PAGE));
  return LARGEST_PAGE;
}

/**
 * Measures selection sets, each named fragment once however often it is spread (a fragment spreading
 * another twice, nested, would otherwise cost exponential time). Cycles are invalid GraphQL and are
 * refused by the spec's own rule; here a fragment met again while being measured counts as nothing.
 */
class OperationMeasure {
  readonly #fragments = new Map<string, Measure>();
  readonly #measuring = new Set<string>();

  constructor(
    private readonly fragment: (name: string) => FragmentDefinitionNode | null | undefined,
    private readonly defaultPages: DefaultPages,
  ) {}

  of(selectionSet: SelectionSetNode): Measure {
    let depth = 0;
    let cost = 0;
    let width = 0;
    for (const selection of selectionSet.selections) {
      let inner: Measure;
      if (selection.kind === Kind.FIELD) {
        // Introspection fields too: 4,000 aliases of `__schema` once answered 36 MB from an 83 KB request.
        const children = selection.selectionSet ? this.of(selection.selectionSet) : NOTHING;
        inner = { depth: children.depth + 1, cost: 1 + pageSizeOf(selection, this.defaultPages) * children.cost, width: 1 };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = this.of(selection.selectionSet);
      } else {
        inner = this.#spread(selection.name.value);
      }
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
      width += inner.width;
    }
    return { depth, cost, width };
  }

  #spread(name: string): Measure {
    const known = this.#fragments.get(name);
    if (known) return known;
    const definition = this.#measuring.has(name) ? undefined : this.fragment(name);
    if (!definition) return NOTHING;
    this.#measuring.add(name);
    const measured = this.of(definition.selectionSet);
    this.#measuring.delete(name);
    this.#fragments.set(name, measured);
    return measured;
  }
}

/** Aliases and directives as written: one pass over the document, proportional to its size whatever it asks for. */
function countWritten(definitions: readonly DefinitionNode[]): { aliases: number; directives: number } {
  let aliases = 0;
  let directives = 0;
  const countDirectives = (nodes: readonly DirectiveNode[] | undefined) => {
    directives += nodes?.length ?? 0;
  };
  const walk = (selectionSet: SelectionSetNode | undefined) => {
    for (const selection of selectionSet?.selections ?? []) {
      countDirectives(selection.directives);
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases++;
        walk(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      }
    }
  };
  for (const definition of definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION && definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    countDirectives(definition.directives);
    for (const variable of definition.variableDefinitions ?? []) countDirectives(variable.directives);
    walk(definition.selectionSet);
  }
  return { aliases, directives };
}

/** A refusal naming the limit and the setting that raises it. */
export function tooComplex(what: string, limit: keyof OperationLimits, value: number): GraphQLError {
  return new GraphQLError(`${what}; the limit is ${value} (${LIMIT_SETTINGS[limit]})`, { extensions: { code: 'QUERY_TOO_COMPLEX' } });
}

/**
 * Every limit but tokens (the parser's) that `document` crosses, from its syntax alone: no schema, no execution, and
 * work in proportion to the document's size, so it can run before GraphQL's own (costlier) validation.
 */
export function limitViolations(document: DocumentNode, limits: OperationLimits, defaultPages: DefaultPages = new Map()): GraphQLError[] {
  const errors: GraphQLError[] = [];
  const { aliases, directives } = countWritten(document.definitions);
  if (aliases > limits.maxAliases) errors.push(tooComplex(`the document has ${aliases} aliases`, 'maxAliases', limits.maxAliases));
  if (directives > limits.maxDirectives) {
    errors.push(tooComplex(`the document has ${directives} directives`, 'maxDirectives', limits.maxDirectives));
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const measure = new OperationMeasure((name) => fragments.get(name), defaultPages);
  for (const definition of document.definitions) {
    if (definition.kind === Kind.OPERATION_DEFINITION) errors.push(...operationViolations(measure, definition, limits));
  }
  return errors;
}

function operationViolations(measure: OperationMeasure, operation: OperationDefinitionNode, limits: OperationLimits): GraphQLError[] {
  const errors: GraphQLError[] = [];
  const { depth, cost, width } = measure.of(operation.selectionSet);
  if (width > limits.maxRootFields) {
    errors.push(tooComplex(`the operation asks for ${width} root fields`, 'maxRootFields', limits.maxRootFields));
  }
  if (depth > limits.maxDepth) errors.push(tooComplex(`the operation nests ${depth} fields deep`, 'maxDepth', limits.maxDepth));
  if (cost > limits.maxCost) {
    errors.push(
      tooComplex(`the operation may resolve about ${cost} fields: ask for smaller pages or fewer aliases`, 'maxCost', limits.maxCost),
    );
  }
  return errors;
}

/** The limits as a validation rule, for a document that did not come through the transports' screen. */
export function operationLimitsRule(limits: OperationLimits, defaultPages: DefaultPages = new Map()): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    Document(document) {
      for (const error of limitViolations(document, limits, defaultPages)) context.reportError(error);
      // Nothing below needs visiting by this rule.
      return false;
    },
  });
}

/** With introspection off, say which setting turned it off. */
export const noIntrospectionRule: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(new GraphQLError('introspection is turned off on this gateway (GRAPHQL_INTROSPECTION=false)', { nodes: [node] }));
    }
  },
});
