import {
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** What one operation may ask for. */
export interface OperationLimits {
  /** Nesting of fields, introspection aside. */
  readonly maxDepth: number;
  /** Fields resolved, a list field counting its children once per item it may return (`first`). */
  readonly maxCost: number;
}

export const DEFAULT_LIMITS: OperationLimits = { maxDepth: 10, maxCost: 5_000 };

/** Items a `first` argument may ask for when it is a variable (unknown at validation) or absent. */
const LARGEST_PAGE = 100;
const DEFAULT_PAGE = 20;

interface Measure {
  readonly depth: number;
  readonly cost: number;
}

function pageSizeOf(field: FieldNode): number {
  const first = field.arguments?.find((argument) => argument.name.value === 'first');
  if (!first) return field.selectionSet && field.name.value === 'orders' ? DEFAULT_PAGE : 1;
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

  constructor(private readonly fragment: (name: string) => FragmentDefinitionNode | null | undefined) {}

  of(selectionSet: SelectionSetNode): Measure {
    let depth = 0;
    let cost = 0;
    for (const selection of selectionSet.selections) {
      let inner: Measure = { depth: 0, cost: 0 };
      if (selection.kind === Kind.FIELD) {
        // Introspection is bounded by the schema itself; GraphiQL's own query is deep.
        if (selection.name.value.startsWith('__')) continue;
        const children = selection.selectionSet ? this.of(selection.selectionSet) : { depth: 0, cost: 0 };
        inner = { depth: children.depth + 1, cost: 1 + pageSizeOf(selection) * children.cost };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = this.of(selection.selectionSet);
      } else {
        inner = this.#spread(selection.name.value);
      }
      depth = Math.max(depth, inner.depth);
      cost += inner.cost;
    }
    return { depth, cost };
  }

  #spread(name: string): Measure {
    const known = this.#fragments.get(name);
    if (known) return known;
    const definition = this.#measuring.has(name) ? undefined : this.fragment(name);
    if (!definition) return { depth: 0, cost: 0 };
    this.#measuring.add(name);
    const measured = this.of(definition.selectionSet);
    this.#measuring.delete(name);
    this.#fragments.set(name, measured);
    return measured;
  }
}

const tooComplex = (message: string) => new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });

/** Refuses an operation nested deeper or costing more than `limits` with QUERY_TOO_COMPLEX. */
export function operationLimitsRule(limits: OperationLimits = DEFAULT_LIMITS): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      const { depth, cost } = new OperationMeasure((name) => context.getFragment(name)).of(operation.selectionSet);
      if (depth > limits.maxDepth) {
        context.reportError(tooComplex(`the operation nests ${depth} fields deep; the limit is ${limits.maxDepth}`));
      }
      if (cost > limits.maxCost) {
        context.reportError(
          tooComplex(
            `the operation may resolve about ${cost} fields; the limit is ${limits.maxCost}: ask for smaller pages or fewer aliases`,
          ),
        );
      }
    },
  });
}

/** With the explorer off, introspection is off too, saying which setting turned it off. */
export const noIntrospectionRule: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(new GraphQLError('introspection is turned off on this gateway (EXPLORER_ENABLED=false)', { nodes: [node] }));
    }
  },
});

/** The rules both transports add to GraphQL's own. */
export const gatewayValidationRules = (options: { introspection: boolean }): ValidationRule[] => [
  operationLimitsRule(),
  ...(options.introspection ? [] : [noIntrospectionRule]),
];
