import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  getOperationAST,
  specifiedRules,
  validate,
} from 'graphql';
import type { Caller } from '../domain/caller.js';
import { AppError, isAppError } from '../errors.js';
import type { GatewayServices, GraphQLContext, LiveAccess } from '../graphql/context.js';
import { type ErrorFormatter, formatGraphQLErrors } from '../graphql/format-error.js';
import type { Logger } from '../logger.js';
import { SHUTTING_DOWN_MESSAGE } from '../transport/drain.js';
import type { OperationPolicy } from './operation-limits.js';
import { type ExecutedEvent, type SharedExecutionOptions, sharedEventStream, sharedSubscribe } from './shared-execution.js';
import type { SubscriptionLimits } from './subscription-limits.js';

/** What a client sends for one operation, whatever the transport. */
export interface OperationRequest {
  readonly query?: unknown;
  readonly variables?: unknown;
  readonly operationName?: unknown;
}

/**
 * One client connection of any transport (a websocket, an SSE stream): the caller, which a token refresh may replace,
 * and its live subscriptions, which are checked again against a new caller.
 */
export class OperationSession {
  #caller: Caller;
  readonly logger: Logger;
  /** Live subscriptions by operation id: what each one's resolver left to check it again. */
  readonly live = new Map<string, LiveAccess>();

  constructor(caller: Caller, logger: Logger) {
    this.#caller = caller;
    this.logger = logger;
  }

  get caller(): Caller {
    return this.#caller;
  }

  /** Takes a refreshed caller (same `sub`); each live subscription no longer allowed is ended by its own check. */
  replaceCaller(caller: Caller): void {
    this.#caller = caller;
    for (const access of this.live.values()) access.recheck?.(caller);
  }
}

export type OperationKind = 'query' | 'mutation' | 'subscription';

export type Preparation =
  | { readonly ok: true; readonly args: ExecutionArgs; readonly kind: OperationKind; readonly rootField: string }
  | { readonly ok: false; readonly errors: readonly GraphQLError[] };

export interface PrepareOptions {
  /** A resume position the transport carries beside the operation (SSE's Last-Event-ID). */
  readonly resumeAfter?: string;
}

export interface OperationPipelineOptions {
  readonly schema: GraphQLSchema;
  readonly policy: OperationPolicy;
  readonly services: GatewayServices;
  /** Counts one operation of the caller; throws RATE_LIMITED when it is over its rate. */
  readonly admit: (caller: Caller) => void;
  /** One for the process: every transport's subscriptions count toward the same per-caller limit. */
  readonly limits: SubscriptionLimits<OperationSession>;
  readonly formatError: ErrorFormatter;
  /** False once the gateway drains: new operations are refused with SHUTTING_DOWN. */
  readonly accepting: () => boolean;
  /** Which subscription events many subscriptions share, so each is executed once per distinct operation. */
  readonly sharing?: SharedExecutionOptions;
}

/** Without sharing options, every subscription executes its own events. */
const NOTHING_SHARED: SharedExecutionOptions = { eventIdentity: () => undefined, perSubscriberFields: new Set(), callerKey: () => '' };

/** Distinct valid documents remembered: thousands of clients subscribe with the same few queries. */
const VALID_DOCUMENTS_REMEMBERED = 500;
/** Longer query texts are not remembered, so the cache stays a few MiB whatever clients send. */
const REMEMBERED_QUERY_MAX_LENGTH = 8192;

/** A refusal the pipeline raised (AppError) as the GraphQL error a client gets; anything else is a fault. */
export function refusalOf(error: unknown): GraphQLError[] {
  if (!isAppError(error)) throw error;
  return [new GraphQLError(error.message, { originalError: error, extensions: { code: error.code, ...error.details } })];
}

/** The error with a contract code: its own (QUERY_TOO_COMPLEX from our rules) or `fallback`. */
function withCode(error: unknown, fallback: 'GRAPHQL_PARSE_FAILED' | 'GRAPHQL_VALIDATION_FAILED'): GraphQLError {
  const graphqlError = error instanceof GraphQLError ? error : new GraphQLError(String(error));
  return new GraphQLError(graphqlError.message, {
    ...(graphqlError.nodes && { nodes: graphqlError.nodes }),
    extensions: { ...graphqlError.extensions, code: graphqlError.extensions.code ?? fallback },
  });
}

const isVariables = (value: unknown): value is Record<string, unknown> | null | undefined =>
  value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value));

/**
 * What every transport does with an operation, defined once: admit (drain, rate, subscription limits shared across
 * transports), parse within the limits, validate (cached per query text), build the context, run it (subscriptions
 * executed once per distinct operation), and format its errors. graphql-ws and SSE are adapters around it.
 */
export function createOperationPipeline(options: OperationPipelineOptions) {
  const { schema, policy, services, limits } = options;
  const rules = [...specifiedRules, ...policy.validationRules];
  // Parsed and validated once per query text (schema and rules never change): a join then skips both.
  const validDocuments = new Map<string, DocumentNode>();
  const sharing = options.sharing ?? NOTHING_SHARED;
  const subscribeShared = sharedSubscribe(sharing);
  const streamShared = sharedEventStream(sharing);

  function documentOf(query: string): { document: DocumentNode } | { errors: readonly GraphQLError[] } {
    const remembered = validDocuments.get(query);
    if (remembered) return { document: remembered };
    // Within the token limit, and refused over the other limits before GraphQL's own (costlier) validation.
    const screened = policy.screen(query);
    if ('errors' in screened) return { errors: screened.errors.map((error) => withCode(error, 'GRAPHQL_PARSE_FAILED')) };
    const errors = validate(schema, screened.document, rules, policy.validationOptions);
    if (errors.length > 0) return { errors: errors.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED')) };
    if (query.length <= REMEMBERED_QUERY_MAX_LENGTH) {
      if (validDocuments.size >= VALID_DOCUMENTS_REMEMBERED) validDocuments.delete(validDocuments.keys().next().value as string);
      validDocuments.set(query, screened.document);
    }
    return { document: screened.document };
  }

  return {
    /**
     * Everything before execution. A subscription admitted here holds its place in the limits until `release`.
     * Refusals come back as errors with their contract codes; nothing is thrown for a client's mistake.
     */
    prepare(session: OperationSession, id: string, request: OperationRequest, prepareOptions: PrepareOptions = {}): Preparation {
      try {
        // A client that subscribes again on its connection after its subscription was completed at shutdown.
        if (!options.accepting()) throw new AppError('SHUTTING_DOWN', SHUTTING_DOWN_MESSAGE);
        options.admit(session.caller);
      } catch (error) {
        return { ok: false, errors: refusalOf(error) };
      }
      if (typeof request.query !== 'string' || request.query === '') {
        return { ok: false, errors: [withCode('send a GraphQL document as `query`', 'GRAPHQL_PARSE_FAILED')] };
      }
      if (!isVariables(request.variables))
        return { ok: false, errors: [withCode('`variables` must be an object', 'GRAPHQL_VALIDATION_FAILED')] };
      const operationName = typeof request.operationName === 'string' ? request.operationName : null;
      const known = documentOf(request.query);
      if ('errors' in known) return { ok: false, errors: known.errors };
      const operation = getOperationAST(known.document, operationName);
      if (!operation) {
        return {
          ok: false,
          errors: [withCode('the document has no operation of that name: set `operationName`', 'GRAPHQL_VALIDATION_FAILED')],
        };
      }
      const kind = operation.operation as OperationKind;
      const access: LiveAccess = {};
      if (kind === 'subscription') {
        try {
          limits.admit(session, session.caller.sub, id);
        } catch (error) {
          return { ok: false, errors: refusalOf(error) };
        }
        session.live.set(id, access);
      }
      const contextValue: GraphQLContext = {
        caller: session.caller,
        ...services,
        logger: session.logger.child({ operationId: id }),
        access,
        ...(prepareOptions.resumeAfter !== undefined && { resumeAfter: prepareOptions.resumeAfter }),
      };
      const rootField = operation.selectionSet.selections.find((s) => s.kind === 'Field');
      return {
        ok: true,
        kind,
        rootField: rootField && 'name' in rootField ? rootField.name.value : '',
        args: { schema, document: known.document, variableValues: request.variables ?? null, operationName, contextValue },
      };
    },

    /** A subscription ended (completed, failed, or its connection closed): its place in the limits is free. */
    release(session: OperationSession, id: string): void {
      limits.release(session, id);
      session.live.delete(id);
    },

    releaseAll(session: OperationSession): void {
      limits.releaseAll(session);
      session.live.clear();
    },

    /** For graphql-ws's `subscribe`: each event's result. */
    subscribe: (args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult, void, void> | ExecutionResult> => subscribeShared(args),

    /** Each event's result with the event it came from (SSE reads the event's resume id). */
    stream: (args: ExecutionArgs): Promise<AsyncGenerator<ExecutedEvent, void, void> | ExecutionResult> => streamShared(args),

    execute: (args: ExecutionArgs): ExecutionResult | Promise<ExecutionResult> => execute(args),

    /** The one error formatter: internal errors logged with the operation's lines, contract codes kept. */
    formatErrors: (errors: readonly GraphQLError[], logger: Logger): GraphQLFormattedError[] =>
      formatGraphQLErrors(options.formatError, errors, logger),
  };
}

export type OperationPipeline = ReturnType<typeof createOperationPipeline>;
