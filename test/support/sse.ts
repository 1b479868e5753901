import http, { type IncomingHttpHeaders } from 'node:http';
import { createClient } from 'graphql-sse';
import type { GatewayError } from '../../examples/support/gateway-subscriptions.js';
import { waitFor } from './resources.js';
import { ORDER_SETTLED, type SettledEvent } from './subscriber.js';

/**
 * GraphQL over Server-Sent Events (CONTRACT.md, "GraphQL over Server-Sent Events") from the tests' side: a raw
 * reader over node:http that keeps every line the gateway wrote (fields and comments), as a browser's EventSource
 * or curl sees them, and graphql-sse's own client in distinct connections mode.
 */

/** One dispatched SSE message: its `event:`, `id:` (when the message had one) and `data:` lines. */
export interface SseMessage {
  readonly event: string;
  readonly id?: string;
  readonly data: string;
}

export interface SseRequest {
  readonly query?: string;
  readonly variables?: Record<string, unknown>;
  readonly operationName?: string;
  /** POST sends a JSON body; GET puts the request in the query string, as an EventSource must. @default 'POST' */
  readonly method?: 'GET' | 'POST';
  /** Sent as `Authorization: Bearer <bearer>`. */
  readonly bearer?: string;
  /** Sent as the `access_token` query parameter (the only way an EventSource can send a token). */
  readonly accessToken?: string;
  readonly lastEventId?: string;
  /** The root field whose value a `next` carries as the event. @default 'orderSettled' */
  readonly field?: string;
}

export interface SseStream<E = SettledEvent> {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Every message dispatched, in order. */
  readonly messages: SseMessage[];
  /** The text of every comment line (after the colon). */
  readonly comments: string[];
  /** `data[field]` of every `next` that carried one, in order. */
  readonly events: E[];
  /** The `id:` of each of `events` (same index). */
  readonly eventIds: (string | undefined)[];
  /** The errors of every `next`, in order. */
  readonly errors: GatewayError[];
  /** A `complete` arrived. */
  readonly completed: boolean;
  /** The response ended or its connection closed. */
  readonly ended: boolean;
  /** Everything the response carried, as text (a refusal's JSON). */
  readonly body: string;
  /** Resolves with the events once `count` arrived. */
  received(count: number, timeoutMs?: number): Promise<E[]>;
  /** Resolves once `complete` arrived. */
  untilCompleted(timeoutMs?: number): Promise<void>;
  /** Stops reading the response, as a client that stalled: the TCP buffers fill and the gateway's writes wait. */
  pauseReading(): void;
  resumeReading(): void;
  /** Destroys the connection, as a client going away mid-stream does. */
  close(): void;
}

/** A message short enough for a failure's text (events may be large). */
const brief = (message: SseMessage) => ({
  ...message,
  data: message.data.length > 300 ? `${message.data.slice(0, 300)}...` : message.data,
});

/** The request line and headers of an SSE request to `url`'s /graphql. */
function requestOf(url: string, request: SseRequest): { target: URL; init: http.RequestOptions; body?: string } {
  const method = request.method ?? 'POST';
  const target = new URL('/graphql', url);
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (request.bearer !== undefined) headers.authorization = `Bearer ${request.bearer}`;
  if (request.lastEventId !== undefined) headers['last-event-id'] = request.lastEventId;
  if (request.accessToken !== undefined) target.searchParams.set('access_token', request.accessToken);
  let body: string | undefined;
  if (method === 'GET') {
    if (request.query !== undefined) target.searchParams.set('query', request.query);
    if (request.variables !== undefined) target.searchParams.set('variables', JSON.stringify(request.variables));
    if (request.operationName !== undefined) target.searchParams.set('operationName', request.operationName);
  } else {
    body = JSON.stringify({ query: request.query, variables: request.variables ?? {}, operationName: request.operationName });
    headers['content-type'] = 'application/json';
  }
  // A connection of its own (no keep-alive agent): close() ends exactly this stream.
  return { target, init: { method, headers, agent: false }, ...(body !== undefined && { body }) };
}

/** Opens an SSE request; resolves once the response headers arrived (a refusal's JSON body is read into `body`). */
export function openSse<E = SettledEvent>(url: string, request: SseRequest): Promise<SseStream<E>> {
  const field = request.field ?? 'orderSettled';
  const { target, init, body } = requestOf(url, request);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(target, init, (response) => {
      const messages: SseMessage[] = [];
      const comments: string[] = [];
      const events: E[] = [];
      const eventIds: (string | undefined)[] = [];
      const errors: GatewayError[] = [];
      let completed = false;
      let ended = false;
      let text = '';
      let pending = '';
      let message: { event?: string; id?: string; data?: string[] } = {};

      const dispatch = () => {
        if (message.data === undefined && message.event === undefined && message.id === undefined) return;
        const dispatched: SseMessage = {
          event: message.event ?? 'message',
          ...(message.id !== undefined && { id: message.id }),
          data: (message.data ?? []).join('\n'),
        };
        message = {};
        messages.push(dispatched);
        if (dispatched.event === 'complete') completed = true;
        if (dispatched.event !== 'next') return;
        const result = JSON.parse(dispatched.data) as { data?: Record<string, E> | null; errors?: GatewayError[] };
        if (result.errors) errors.push(...result.errors);
        const event = result.data?.[field];
        if (event !== undefined && event !== null) {
          events.push(event);
          eventIds.push(dispatched.id);
        }
      };
      // The event stream interpretation of the HTML standard: lines end in \n, \r\n or \r; a blank line dispatches.
      const readLine = (line: string) => {
        if (line === '') return dispatch();
        if (line.startsWith(':')) return void comments.push(line.slice(1));
        const colon = line.indexOf(':');
        const name = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (name === 'event') message.event = value;
        else if (name === 'id') message.id = value;
        else if (name === 'data') message.data = [...(message.data ?? []), value];
      };

      const streaming = String(response.headers['content-type'] ?? '').startsWith('text/event-stream');
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        if (!streaming) return;
        pending += chunk;
        // A chunk ending in \r may be the first half of \r\n: that \r waits for the next chunk.
        const cut = pending.endsWith('\r') ? pending.length - 1 : pending.length;
        const lines = pending.slice(0, cut).split(/\r\n|\r|\n/);
        pending = (lines.pop() ?? '') + pending.slice(cut);
        for (const line of lines) readLine(line);
      });
      const end = () => {
        ended = true;
      };
      response.on('end', end);
      response.on('close', end);
      response.on('error', end);

      const stream: SseStream<E> = {
        status: response.statusCode ?? 0,
        headers: response.headers,
        messages,
        comments,
        events,
        eventIds,
        errors,
        get completed() {
          return completed;
        },
        get ended() {
          return ended;
        },
        get body() {
          return text;
        },
        received: (count, timeoutMs = 30_000) =>
          waitFor(
            `${count} SSE events (have ${events.length}, errors ${JSON.stringify(errors)}, ended ${ended})`,
            () => (events.length >= count ? events : undefined),
            timeoutMs,
          ),
        untilCompleted: async (timeoutMs = 30_000) => {
          await waitFor(
            `the SSE stream to complete (${messages.length} messages, the last ${JSON.stringify(messages.slice(-2).map(brief))}, ended ${ended})`,
            () => (completed ? true : undefined),
            timeoutMs,
          );
        },
        pauseReading: () => void response.pause(),
        resumeReading: () => void response.resume(),
        close: () => void outgoing.destroy(),
      };
      if (streaming) resolve(stream);
      else response.once('end', () => resolve(stream));
    });
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export interface Refusal {
  readonly status: number;
  readonly contentType: string;
  readonly code: string | undefined;
  readonly body: string;
}

/** An SSE request the gateway must refuse before the stream begins: its status, content type and error code. */
export async function sseRefusal(url: string, request: SseRequest): Promise<Refusal> {
  const answer = await openSse(url, request);
  if (String(answer.headers['content-type']).startsWith('text/event-stream')) {
    answer.close();
    return { status: answer.status, contentType: 'text/event-stream', code: undefined, body: '' };
  }
  let code: string | undefined;
  try {
    code = (JSON.parse(answer.body) as { errors?: GatewayError[] }).errors?.[0]?.extensions?.code;
  } catch {
    // not JSON: the assertion on contentType says so
  }
  return { status: answer.status, contentType: String(answer.headers['content-type'] ?? ''), code, body: answer.body };
}

export interface SseClientSubscription<E = SettledEvent> {
  readonly events: E[];
  readonly errors: unknown[];
  readonly completed: boolean;
  received(count: number, timeoutMs?: number): Promise<E[]>;
  /** Disposes of the subscription (aborts its request). */
  close(): void;
}

/** One subscription through graphql-sse's own client, distinct connections mode, with a bearer token. */
export function sseClientSubscribe<E = SettledEvent>(
  url: string,
  bearer: string,
  variables: Record<string, unknown>,
  query = ORDER_SETTLED,
  field = 'orderSettled',
): SseClientSubscription<E> {
  const client = createClient({
    singleConnection: false,
    url: `${url}/graphql`,
    headers: { authorization: `Bearer ${bearer}` },
    retryAttempts: 0,
  });
  const events: E[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const dispose = client.subscribe<Record<string, E>>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        const event = result.data?.[field];
        if (event !== undefined && event !== null) events.push(event);
      },
      error: (error) => errors.push(error),
      complete: () => {
        completed = true;
      },
    },
  );
  return {
    events,
    errors,
    get completed() {
      return completed;
    },
    received: (count, timeoutMs = 30_000) =>
      waitFor(
        `${count} events through graphql-sse (have ${events.length}, errors ${JSON.stringify(errors.map(String))})`,
        () => (events.length >= count ? events : undefined),
        timeoutMs,
      ),
    close: () => {
      dispose();
      client.dispose();
    },
  };
}

/**
 * A LATEST subscription only sees what is published after it joined: places warm-up orders until every stream
 * received one (as subscriber.ts's untilLive does for sockets).
 */
export async function untilStreamsLive(
  streams: readonly { readonly events: readonly unknown[]; readonly errors: readonly unknown[] }[],
  placeWarmUp: (attempt: number) => Promise<unknown>,
  timeoutMs = 30_000,
): Promise<void> {
  let attempt = 0;
  const deadline = Date.now() + timeoutMs;
  while (!streams.every((s) => s.events.length > 0)) {
    if (Date.now() > deadline) throw new Error(`streams not live after ${timeoutMs} ms: ${JSON.stringify(streams.map((s) => s.errors))}`);
    await placeWarmUp(attempt++);
    const until = Date.now() + 1000;
    await waitFor('a warm-up event or the next attempt', () =>
      streams.every((s) => s.events.length > 0) || Date.now() > until ? true : undefined,
    );
  }
}
