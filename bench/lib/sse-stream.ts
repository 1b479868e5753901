/**
 * One GraphQL-over-SSE subscription as a bench client opens it (CONTRACT.md, "GraphQL over Server-Sent Events",
 * distinct connections mode): `POST /graphql` with `Accept: text/event-stream` and a JSON body, on a connection of its
 * own, read with node's http client. Lines are parsed as the HTML standard's event stream interpretation says
 * (`event:`, `id:`, `data:`, comments, a blank line dispatches), as test/support/sse.ts does, without keeping them.
 */
import http from 'node:http';

export interface SseHandlers {
  /** The `data` of a `next` event, parsed (a GraphQL execution result). */
  next(result: { data?: Record<string, unknown> | null; errors?: unknown[] }, id: string | undefined): void;
  /** The stream was refused (status and body), failed, or ended. */
  ended(reason: string): void;
}

/** Opens the stream; returns the function that closes its connection. Loopback only. */
export function openSseSubscription(
  httpUrl: string,
  token: string,
  query: string,
  variables: Record<string, unknown>,
  handlers: SseHandlers,
): () => void {
  const target = new URL('/graphql', httpUrl);
  if (target.hostname !== '127.0.0.1') throw new Error(`benchmarks target loopback only, not ${target.host}`);
  const body = JSON.stringify({ query, variables });
  let closed = false;
  let endedOnce = false;
  const end = (reason: string) => {
    if (endedOnce || closed) return;
    endedOnce = true;
    handlers.ended(reason);
  };
  const request = http.request(
    target,
    {
      method: 'POST',
      // No keep-alive agent: one TCP connection per subscription, as each EventSource or distinct-connections client has.
      agent: false,
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        authorization: `Bearer ${token}`,
      },
    },
    (response) => {
      response.setEncoding('utf8');
      if (!String(response.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        let text = '';
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => end(`refused with ${response.statusCode}: ${text.slice(0, 200)}`));
        return;
      }
      let pending = '';
      let event: string | undefined;
      let id: string | undefined;
      let data: string[] = [];
      const dispatch = () => {
        if (event === 'next' && data.length > 0) handlers.next(JSON.parse(data.join('\n')), id);
        else if (event === 'complete') end('complete');
        event = undefined;
        id = undefined;
        data = [];
      };
      const readLine = (line: string) => {
        if (line === '') return dispatch();
        if (line.startsWith(':')) return;
        const colon = line.indexOf(':');
        const name = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (name === 'event') event = value;
        else if (name === 'id') id = value;
        else if (name === 'data') data.push(value);
      };
      response.on('data', (chunk: string) => {
        pending += chunk;
        // A chunk ending in \r may be the first half of \r\n: that \r waits for the next chunk.
        const cut = pending.endsWith('\r') ? pending.length - 1 : pending.length;
        const lines = pending.slice(0, cut).split(/\r\n|\r|\n/);
        pending = (lines.pop() ?? '') + pending.slice(cut);
        for (const line of lines) readLine(line);
      });
      response.on('end', () => end('the response ended'));
      response.on('error', (error) => end(error.message));
    },
  );
  request.on('error', (error) => end(error.message));
  request.end(body);
  return () => {
    closed = true;
    request.destroy();
  };
}
