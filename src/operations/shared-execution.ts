import { createSourceEventStream, type DocumentNode, type ExecutionArgs, type ExecutionResult, execute, Kind, visit } from 'graphql';
import { mapAsyncIterator } from 'graphql/execution/mapAsyncIterator.js';

type Result = ExecutionResult | Promise<ExecutionResult>;

export interface SharedExecutionOptions {
  /**
   * The object that stands for one record to every subscription that receives it (the same object for all of
   * them), or undefined if this event is not shared. Results of equal operations on it are shared.
   */
  readonly eventIdentity: (payload: unknown) => object | undefined;
  /** Fields whose value differs per subscription for one record (a resume cursor): a document selecting one is not shared. */
  readonly perSubscriberFields: ReadonlySet<string>;
  /** Who the operation runs for, as far as results can depend on it; equal keys may share results. */
  readonly callerKey: (contextValue: unknown) => string;
}

/** One event of a subscription: what the source gave (a transport may read its resume id) and its execution result. */
export interface ExecutedEvent {
  readonly event: unknown;
  readonly result: ExecutionResult;
}

type Shape<T> = (event: unknown, result: Result) => T | Promise<T>;

/**
 * graphql-js's `subscribe` (source stream, then `execute` per event), except that an event many subscriptions
 * receive is executed once per distinct operation (document, operation name, variables, caller) rather than once
 * per subscription: 20 subscribers of one query cost one execution per record, not 20. Results with errors are not
 * shared. `shape` makes each step of the stream from the event and its result.
 */
function sharedStream<T>(
  options: SharedExecutionOptions,
  shape: Shape<T>,
): (args: ExecutionArgs) => Promise<AsyncGenerator<T, void, void> | ExecutionResult> {
  const results = new WeakMap<object, Map<string, Result>>();
  const shareable = new WeakMap<DocumentNode, boolean>();
  const selectsNoPerSubscriberField = (document: DocumentNode): boolean => {
    let known = shareable.get(document);
    if (known === undefined) {
      known = true;
      visit(document, {
        [Kind.FIELD]: (field) => {
          if (options.perSubscriberFields.has(field.name.value)) known = false;
        },
      });
      shareable.set(document, known);
    }
    return known;
  };

  return async (args) => {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream;
    const operationKey = selectsNoPerSubscriberField(args.document)
      ? JSON.stringify([args.operationName ?? null, args.variableValues ?? null, options.callerKey(args.contextValue)])
      : undefined;
    const run = (payload: unknown): Result => execute({ ...args, rootValue: payload });
    const resultOf = (payload: unknown): Result => {
      const identity = operationKey === undefined ? undefined : options.eventIdentity(payload);
      if (identity === undefined || operationKey === undefined) return run(payload);
      let perOperation = results.get(identity);
      if (!perOperation) {
        perOperation = new Map();
        results.set(identity, perOperation);
      }
      // The document's identity too: documents are cached per query text, so equal texts are one object.
      const key = `${documentIds.of(args.document)}\n${operationKey}`;
      const known = perOperation.get(key);
      if (known !== undefined) return known;
      const result = run(payload);
      const forgetIfFailed = (settled: ExecutionResult) => {
        if (settled.errors) perOperation.delete(key);
      };
      if (result instanceof Promise) void result.then(forgetIfFailed, () => perOperation.delete(key));
      else if (result.errors) return result;
      perOperation.set(key, result);
      return result;
    };
    return mapAsyncIterator<unknown, T, void>(stream as AsyncIterable<unknown>, (payload: unknown) => shape(payload, resultOf(payload)));
  };
}

/** As graphql-ws's `subscribe` wants it: the results alone. */
export const sharedSubscribe = (options: SharedExecutionOptions) => sharedStream<ExecutionResult>(options, (_event, result) => result);

/** Each result with its source event, for a transport that reads something of the event (SSE's `id:`). */
export const sharedEventStream = (options: SharedExecutionOptions) =>
  sharedStream<ExecutedEvent>(options, (event, result) =>
    result instanceof Promise ? result.then((settled) => ({ event, result: settled })) : { event, result },
  );

/** A number per document object, for cache keys. */
const documentIds = (() => {
  const ids = new WeakMap<DocumentNode, number>();
  let next = 0;
  return {
    of(document: DocumentNode): number {
      let id = ids.get(document);
      if (id === undefined) {
        id = next++;
        ids.set(document, id);
      }
      return id;
    },
  };
})();
