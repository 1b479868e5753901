import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ExecutionResult, GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { Caller } from '../domain/caller.js';
import { isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type OperationPipeline, type OperationRequest, OperationSession } from '../operations/operation-pipeline.js';
import type { ExecutedEvent } from '../operations/shared-execution.js';
import { sendRefusal } from './http-status.js';
import { codeOf, OK, type OperationObserver, PendingOperations, rootFieldOfText } from './operation-metrics.js';
import { requestIdFrom } from './request-id.js';

export interface SseServerOptions {
  pipeline: OperationPipeline;
  authenticate: (authorization: unknown) => Promise<Caller | null>;
  logger: Logger;
  /** A comment line this often keeps proxies from closing a quiet stream (SSE_KEEPALIVE_MS). */
  keepAliveMs: number;
  /** The resume id of a subscription's event (a declared field's cursor), written as its `id:`; undefined for none. */
  resumeIdOf: (event: unknown) => string | undefined;
  observer?: OperationObserver;
}

/** `Accept: text/event-stream`: the client asks for GraphQL over SSE (distinct connections mode). */
export const wantsEventStream = (request: IncomingMessage): boolean => (request.headers.accept ?? '').includes('text/event-stream');

/** One SSE stream is one operation; its id in the limits and the logs. */
const OPERATION_ID = 'sse';

const ANONYMOUS_MESSAGE = 'send an access token (Authorization: Bearer <JWT>, or access_token=<JWT> on a GET event stream)';

/** The operation of a GET event stream, from its query string (EventSource can send nothing else). */
function requestOfUrl(url: URL): { request: OperationRequest; accessToken: string | null } | { error: string } {
  let variables: unknown;
  const raw = url.searchParams.get('variables');
  if (raw !== null && raw !== '') {
    try {
      variables = JSON.parse(raw);
    } catch {
      return { error: '`variables` is not JSON' };
    }
  }
  return {
    request: {
      query: url.searchParams.get('query') ?? undefined,
      variables,
      operationName: url.searchParams.get('operationName') ?? undefined,
    },
    accessToken: url.searchParams.get('access_token'),
  };
}

const frame = (event: 'next' | 'complete', data: string, id?: string) =>
  `event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${data}\n\n`;

/**
 * GraphQL over Server-Sent Events, distinct connections mode (CONTRACT.md): one operation per request, through the
 * same pipeline as graphql-ws. A refusal before the stream is the usual JSON error answer; once streaming, results
 * are `next` events (a declared field's with `id: <cursor>`) and the end is `complete`. An event is taken from the
 * subscription only once the previous one was written to the socket, so a client that does not read falls behind
 * exactly as a slow websocket does, and what is committed is what was written.
 */
export function createSseServer(options: SseServerOptions) {
  const { pipeline, logger } = options;
  const timings = options.observer && new PendingOperations(options.observer, 'sse');
  const open = new Set<() => void>();

  /** Writes a chunk, resolving once it was handed to the socket (false if the client went away first). */
  const write = (response: ServerResponse, chunk: string) =>
    new Promise<boolean>((resolve) => {
      if (response.writableEnded || response.destroyed) return resolve(false);
      response.write(chunk, (error) => resolve(!error));
    });

  async function serve(request: IncomingMessage, response: ServerResponse, body: unknown): Promise<void> {
    // Heard from the start: a client may go while its token is checked or its subscription joins its group.
    let clientGone = false;
    response.once('close', () => {
      clientGone = true;
    });
    const requestLogger = logger.child({ requestId: requestIdFrom(response) });
    const key = {};
    timings?.begin(key, OPERATION_ID);
    const refuse = (errors: readonly GraphQLFormattedError[], operation: string, status?: number) => {
      timings?.name(key, OPERATION_ID, operation);
      timings?.end(key, OPERATION_ID, codeOf(errors));
      sendRefusal(response, errors, status);
    };
    const format = (errors: readonly GraphQLError[]) => pipeline.formatErrors(errors, requestLogger);

    let operation: OperationRequest;
    let authorization: unknown = request.headers.authorization;
    if (request.method === 'GET') {
      const fromUrl = requestOfUrl(new URL(request.url ?? '/', 'http://gateway'));
      if ('error' in fromUrl) return refuse([{ message: fromUrl.error, extensions: { code: 'GRAPHQL_PARSE_FAILED' } }], 'other');
      operation = fromUrl.request;
      // EventSource cannot set headers: the token may come in the URL, for GET streams only (never logged).
      if (authorization === undefined && fromUrl.accessToken !== null) authorization = `Bearer ${fromUrl.accessToken}`;
    } else {
      operation = (typeof body === 'object' && body !== null ? body : {}) as OperationRequest;
    }
    const rootField = rootFieldOfText(operation.query, operation.operationName);

    let caller: Caller | null;
    try {
      caller = await options.authenticate(authorization);
    } catch (error) {
      if (!isAppError(error)) throw error;
      return refuse([{ message: error.message, extensions: { code: error.code } }], rootField);
    }
    if (!caller) return refuse([{ message: ANONYMOUS_MESSAGE, extensions: { code: 'UNAUTHENTICATED' } }], rootField);
    const session = new OperationSession(caller, requestLogger);
    const lastEventId = request.headers['last-event-id'];
    const prepared = pipeline.prepare(session, OPERATION_ID, operation, {
      ...(typeof lastEventId === 'string' && lastEventId !== '' && { resumeAfter: lastEventId }),
    });
    if (!prepared.ok) return refuse(format(prepared.errors), rootField);
    if (request.method === 'GET' && prepared.kind === 'mutation') {
      // A link (with access_token in it) must never write: as GraphQL over HTTP says, mutations need a POST.
      response.setHeader('allow', 'POST');
      const message = 'a mutation needs POST: GET event streams may carry queries and subscriptions';
      return refuse([{ message, extensions: { code: 'BAD_REQUEST' } }], prepared.rootField, 405);
    }
    timings?.name(key, OPERATION_ID, prepared.rootField);

    if (prepared.kind !== 'subscription') {
      const result = await pipeline.execute(prepared.args);
      const formatted = result.errors ? { ...result, errors: format(result.errors) } : result;
      timings?.end(key, OPERATION_ID, codeOf(formatted.errors));
      startStream(response);
      await write(response, frame('next', JSON.stringify(formatted)));
      response.end(frame('complete', ''));
      return;
    }

    let stream: AsyncGenerator<ExecutedEvent, void, void> | ExecutionResult;
    try {
      stream = await pipeline.stream(prepared.args);
    } catch (error) {
      pipeline.release(session, OPERATION_ID);
      throw error;
    }
    if (!(Symbol.asyncIterator in stream)) {
      // Refused by its resolver (FORBIDDEN, a bad cursor or Last-Event-ID): nothing was streamed yet.
      pipeline.release(session, OPERATION_ID);
      return refuse(format(stream.errors ?? [new GraphQLError('the subscription did not start')]), prepared.rootField);
    }
    timings?.end(key, OPERATION_ID, OK);
    if (clientGone) {
      // Gone while the subscription started: end it now, or it would hold its place until its token expired.
      await stream.return(undefined);
      pipeline.release(session, OPERATION_ID);
      return;
    }
    await pump(response, session, stream, format);
  }

  function startStream(response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // Proxies such as nginx would otherwise hold events back in their buffers.
      'x-accel-buffering': 'no',
    });
    response.flushHeaders();
  }

  /** Streams a subscription until it ends, the client goes, its token expires, or the gateway stops. */
  async function pump(
    response: ServerResponse,
    session: OperationSession,
    events: AsyncGenerator<ExecutedEvent, void, void>,
    format: (errors: readonly GraphQLError[]) => GraphQLFormattedError[],
  ): Promise<void> {
    startStream(response);
    let ending: GraphQLFormattedError[] | undefined;
    const stop = (errors?: GraphQLFormattedError[]) => {
      ending ??= errors;
      void events.return(undefined);
    };
    const finish = () => stop();
    open.add(finish);
    // A comment the socket no longer takes means the client is gone, as a failed event write does.
    const keepAlive = setInterval(() => void write(response, ':\n\n').then((written) => written || finish()), options.keepAliveMs);
    keepAlive.unref();
    const remaining = session.caller.expiresAt.getTime() - Date.now();
    // A subscription must not outlive the token that allowed it.
    const expiry = setTimeout(
      () =>
        stop(
          format([
            new GraphQLError('the access token expired: reconnect with a fresh one and Last-Event-ID', {
              extensions: { code: 'UNAUTHENTICATED' },
            }),
          ]),
        ),
      Math.min(Math.max(0, remaining), 2 ** 31 - 1),
    );
    response.once('close', finish);
    try {
      for await (const { event, result } of events) {
        const formatted = result.errors ? { ...result, errors: format(result.errors) } : result;
        // The next event is asked for only once this one is on the socket: that is what lets the source commit it.
        const written = await write(response, frame('next', JSON.stringify(formatted), options.resumeIdOf(event)));
        if (!written) break;
      }
    } catch (error) {
      // Ended by its source (SUBSCRIBER_TOO_SLOW, TOPIC_DELETED, FORBIDDEN after a refresh): the formatter keeps the
      // code of our own errors and hides anything else behind a correlation id.
      ending = format([
        error instanceof GraphQLError ? error : new GraphQLError(String(error), { originalError: error instanceof Error ? error : null }),
      ]);
    } finally {
      clearInterval(keepAlive);
      clearTimeout(expiry);
      response.off('close', finish);
      open.delete(finish);
      pipeline.release(session, OPERATION_ID);
    }
    if (ending) await write(response, frame('next', JSON.stringify({ errors: ending })));
    if (!response.writableEnded) response.end(frame('complete', ''));
  }

  return {
    serve,
    /** SSE streams open now. */
    openStreams: () => open.size,
  };
}

export type SseServer = ReturnType<typeof createSseServer>;
