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
  if (first.value.kind === Kind.INT) return Math.min(Number(first.value.value), LARGEST_PAGE);
  return LARGEST_PAGE;
}

function measure(
  selectionSet: SelectionSetNode,
  fragment: (name: string) => FragmentDefinitionNode | null | undefined,
  seen: ReadonlySet<string>,
): Measure {
  let depth = 0;
  let cost = 0;
  for (const selection of selectionSet.selections) {
    let inner: Measure = { depth: 0, cost: 0 };
    if (selection.kind === Kind.FIELD) {
      // Introspection is bounded by the schema itself; GraphiQL's own query is deep.
      if (selection.name.value.startsWith('__')) continue;
      const children = selection.selectionSet ? measure(selection.selectionSet, fragment, seen) : { depth: 0, cost: 0 };
      inner = { depth: children.depth + 1, cost: 1 + pageSizeOf(selection) * children.cost };
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      inner = measure(selection.selectionSet, fragment, seen);
    } else {
      const definition = seen.has(selection.name.value) ? undefined : fragment(selection.name.value);
      if (definition) inner = measure(definition.selectionSet, fragment, new Set([...seen, selection.name.value]));
    }
    depth = Math.max(depth, inner.depth);
    cost += inner.cost;
  }
  return { depth, cost };
}

const tooComplex = (message: string) => new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX' } });

/** Refuses an operation nested deeper or costing more than `limits` with QUERY_TOO_COMPLEX. */
export function operationLimitsRule(limits: OperationLimits = DEFAULT_LIMITS): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(operation) {
      const { depth, cost } = measure(operation.selectionSet, (name) => context.getFragment(name), new Set());
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
