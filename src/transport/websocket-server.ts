import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ExecutionResult } from 'graphql';
import { CloseCode, type Context, handleProtocols, MessageType, makeServer, stringifyMessage } from 'graphql-ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { Caller } from '../domain/caller.js';
import { isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { type OperationPipeline, OperationSession } from '../operations/operation-pipeline.js';
import { REFUSED_UPGRADE } from './drain.js';
import { codeOf, OK, PendingOperations, rootFieldOfText, type WebSocketObserver } from './operation-metrics.js';
import { shedAwaitingInit } from './websocket-init-guard.js';
import { startWebSocketKeepAlive } from './websocket-keepalive.js';

export interface WebSocketServerOptions {
  httpServer: Server;
  path: string;
  /** What every operation goes through, as on SSE. */
  pipeline: OperationPipeline;
  /** How long a socket may take to send `connection_init`. */
  initTimeoutMs: number;
  /** Sockets that may await `connection_init` at once; the oldest waiting is closed to make room for a new one. */
  maxAwaitingInit: number;
  authenticate: (authorization: unknown) => Promise<Caller | null>;
  logger: Logger;
  /** Ping interval; a socket that missed a ping by the next one is terminated. 0 turns it off. */
  keepAliveMs: number;
  /** False while the gateway drains: upgrades are answered 503 (see drain.ts). @default always true */
  accepting?: () => boolean;
  /** Told of every operation and of sockets closed for not answering pings (metrics). */
  observer?: WebSocketObserver;
}

/** The id of a graphql-ws `complete` message; undefined for any other message. */
function completedId(data: string): string | undefined {
  if (data.length > 512 || !data.includes('"complete"')) return undefined;
  try {
    const message: unknown = JSON.parse(data);
    const { type, id } = (message ?? {}) as { type?: unknown; id?: unknown };
    return type === 'complete' && typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The `authorization` of a graphql-ws ping payload (CONTRACT.md, token refresh); undefined for an ordinary ping. */
function refreshOf(payload: unknown): unknown {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  return Reflect.get(payload, 'authorization') ?? Reflect.get(payload, 'Authorization');
}

/** What one socket holds beside graphql-ws's own context. */
interface SocketState {
  readonly socket: WebSocket;
  readonly logger: Logger;
  session?: OperationSession;
  expiry?: NodeJS.Timeout;
}

/**
 * graphql-ws (`graphql-transport-ws`) on the HTTP server's port and path: graphql-ws's protocol core (`makeServer`)
 * over `ws`, in the manner of graphql-ws's own `use/ws`, with every operation handed to the pipeline. Authenticated
 * at connection_init; a `ping` carrying `authorization` refreshes the socket's token.
 */
export function startWebSocketServer(options: WebSocketServerOptions): {
  close(): Promise<void>;
  connectionCount(): number;
  /** Operations graphql-ws still runs on open sockets (0 once every subscription was completed to its client). */
  openOperations(): number;
} {
  const { httpServer, path, pipeline, authenticate, logger, observer } = options;
  const timings = observer && new PendingOperations(observer, 'websocket');
  const accepting = options.accepting ?? (() => true);
  const states = new WeakMap<WebSocket, SocketState>();
  const contexts = new Set<Context<Record<string, unknown> | undefined, { socket: WebSocket }>>();
  const stateOf = (ctx: Context<Record<string, unknown> | undefined, { socket: WebSocket }>) => states.get(ctx.extra.socket);

  /** A subscription must not outlive the token that allowed it: the socket closes at the caller's expiry. */
  const closeAtExpiry = (state: SocketState, caller: Caller) => {
    clearTimeout(state.expiry);
    const remaining = caller.expiresAt.getTime() - Date.now();
    state.expiry = setTimeout(() => state.socket.close(4401, 'Unauthorized: the access token expired'), Math.min(remaining, 2 ** 31 - 1));
  };

  /** CONTRACT.md: the same `sub` takes the new token; another closes with 4403; a bad one changes nothing. */
  const refresh = async (state: SocketState, authorization: unknown): Promise<Record<string, string>> => {
    const session = state.session;
    if (!session) return { error: 'UNAUTHENTICATED' };
    let caller: Caller | null;
    try {
      caller = await authenticate(authorization);
    } catch (error) {
      if (!isAppError(error)) state.logger.error({ err: error }, 'token refresh failed unexpectedly');
      caller = null;
    }
    if (!caller) return { error: 'UNAUTHENTICATED' };
    if (caller.sub !== session.caller.sub) {
      // After the pong that says why, which is queued on the socket before the close frame.
      setImmediate(() => state.socket.close(4403, 'Forbidden: a refreshed token must be for the same caller'));
      return { error: 'FORBIDDEN' };
    }
    closeAtExpiry(state, caller);
    session.replaceCaller(caller);
    state.logger.info({ expiresAt: caller.expiresAt.toISOString() }, 'websocket token refreshed');
    return { expiresAt: caller.expiresAt.toISOString() };
  };

  const server = makeServer<Record<string, unknown> | undefined, { socket: WebSocket }>({
    connectionInitWaitTimeout: options.initTimeoutMs,
    subscribe: pipeline.subscribe,
    execute: pipeline.execute,
    onConnect: async (ctx) => {
      const state = stateOf(ctx);
      if (!state) return false;
      const { socket } = state;
      try {
        const caller = await authenticate(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization);
        // Closed while the token was checked: onClose already ran, and an expiry timer set now would never be cleared.
        if (socket.readyState !== WebSocket.OPEN) return false;
        if (!caller) {
          socket.close(4401, 'Unauthorized: send {"authorization": "Bearer <JWT>"} in connection_init');
          return false;
        }
        state.session = new OperationSession(caller, state.logger);
        contexts.add(ctx);
        state.logger.info({ sub: caller.sub }, 'websocket connection opened');
        closeAtExpiry(state, caller);
        return true;
      } catch (error) {
        if (!isAppError(error)) state.logger.error({ err: error }, 'websocket authentication failed unexpectedly');
        socket.close(4401, `Unauthorized: ${isAppError(error) ? error.message : 'invalid token'}`);
        return false;
      }
    },
    // graphql-ws would let a syntax error escape and close the whole socket with 4500, and sends validation errors
    // without a code: the pipeline refuses each with its code, ending only its own operation (reported in onError).
    onSubscribe: (ctx, id, payload) => {
      const session = stateOf(ctx)?.session;
      timings?.begin(ctx, id);
      if (!session) return [];
      const prepared = pipeline.prepare(session, id, payload);
      if (!prepared.ok) {
        timings?.name(ctx, id, rootFieldOfText(payload.query, payload.operationName));
        return [...prepared.errors];
      }
      timings?.name(ctx, id, prepared.rootField);
      return prepared.args;
    },
    // A subscription's stream began, or a query or mutation answered without errors (with errors, onNext reports
    // it once they are formatted). graphql-ws has awaited the result; a stream has no `errors`.
    onOperation: (ctx, id, _payload, _args, result) => {
      if (!(result as ExecutionResult).errors?.length) timings?.end(ctx, id, OK);
    },
    onComplete: (ctx, id) => {
      const session = stateOf(ctx)?.session;
      if (session) pipeline.release(session, id);
      timings?.drop(ctx, id);
    },
    onClose: (ctx, code) => {
      const state = stateOf(ctx);
      if (contexts.delete(ctx)) state?.logger.info({ code }, 'websocket connection closed');
      clearTimeout(state?.expiry);
      if (state?.session) pipeline.releaseAll(state.session);
    },
    onNext: (ctx, id, _payload, _args, result) => {
      // graphql-ws silently drops a message for a socket that is closing and reports it sent; the source would then
      // commit an event the client never got. Throwing here ends the subscription before that event is acknowledged.
      if (ctx.extra.socket.readyState !== WebSocket.OPEN) throw new Error('the socket is closing');
      if (!result.errors) return undefined;
      const errors = pipeline.formatErrors(result.errors, operationLogger(ctx, id));
      timings?.end(ctx, id, codeOf(errors));
      return { ...result, errors: errors as never };
    },
    // Errors for a socket that is closing are never sent: not formatting them keeps them out of the error log.
    onError: (ctx, id, _payload, errors) => {
      if (ctx.extra.socket.readyState !== WebSocket.OPEN) {
        timings?.drop(ctx, id);
        return [...errors];
      }
      const formatted = pipeline.formatErrors(errors, operationLogger(ctx, id));
      timings?.end(ctx, id, codeOf(formatted));
      return formatted as never;
    },
  });
  const operationLogger = (ctx: Context<Record<string, unknown> | undefined, { socket: WebSocket }>, id: string) =>
    (stateOf(ctx)?.logger ?? logger).child({ operationId: id });

  // Upgrades are routed by hand rather than `{ server }`: ws would re-emit the HTTP server's own errors (a port in
  // use, say), and answer them with a console.error that hides the real cause.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20, handleProtocols });
  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Compared as text: parsing a hostile request line as a URL can throw, and nothing above this listener catches.
    if ((request.url ?? '').split('?')[0] !== path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!accepting()) {
      socket.end(REFUSED_UPGRADE);
      return;
    }
    wss.handleUpgrade(request, socket, head, (client) => wss.emit('connection', client, request));
  };
  httpServer.on('upgrade', upgrade);
  const stopShedding = shedAwaitingInit(wss, { max: options.maxAwaitingInit, timeoutMs: options.initTimeoutMs });
  const stopKeepAlive = startWebSocketKeepAlive(wss, options.keepAliveMs, () => {
    logger.info('closing a websocket whose peer stopped answering pings');
    observer?.unresponsiveClosed();
  });

  wss.on('connection', (socket: WebSocket) => {
    // Every line about a socket carries its connectionId; about one of its operations, the operationId too.
    const state: SocketState = { socket, logger: logger.child({ connectionId: randomUUID() }) };
    states.set(socket, state);
    socket.once('error', (error) => {
      state.logger.warn({ err: error }, 'websocket error; closing it');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    const send = (data: string) =>
      new Promise<void>((resolve, reject) => {
        if (socket.readyState !== WebSocket.OPEN) return resolve();
        socket.send(data, (error) => (error ? reject(error) : resolve()));
      });
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send,
        close: (code, reason) => socket.close(code, reason),
        onMessage: (deliver) =>
          socket.on('message', async (data: Buffer) => {
            const text = data.toString();
            // A client's complete frees its place at once, not when the subscription's clean-up has finished, so a
            // client that completes one and subscribes again is not refused in between.
            const completed = completedId(text);
            if (completed !== undefined && state.session) pipeline.release(state.session, completed);
            try {
              await deliver(text);
            } catch (error) {
              state.logger.error({ err: error }, 'internal error while handling a websocket message');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
        // graphql-ws hands every ping here: one carrying `authorization` refreshes the token, any other is echoed.
        onPing: async (payload) => {
          const authorization = refreshOf(payload);
          const answer = authorization === undefined ? payload : await refresh(state, authorization);
          await send(stringifyMessage(answer ? { type: MessageType.Pong, payload: answer } : { type: MessageType.Pong }));
        },
      },
      { socket },
    );
    socket.once('close', (code, reason) => {
      clearTimeout(state.expiry);
      void closed(code, reason.toString());
    });
  });

  return {
    async close() {
      httpServer.off('upgrade', upgrade);
      stopKeepAlive();
      stopShedding();
      // Closes every socket with 1001 (going away); graphql-ws then returns() each subscription's generator.
      for (const client of wss.clients) client.close(1001, 'Going away');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
    connectionCount: () => wss.clients.size,
    openOperations: () => [...contexts].reduce((sum, ctx) => sum + Object.keys(ctx.subscriptions).length, 0),
  };
}
