import { createGraphiQLFetcher, type Fetcher, type FetcherOpts } from '@graphiql/toolkit';
import { type Client, CloseCode, createClient } from 'graphql-ws';

export interface ExplorerFetcherOptions {
  /** GraphQL over HTTP endpoint, e.g. `http://localhost:4000/graphql`. */
  url: string;
  /** graphql-ws endpoint, e.g. `ws://localhost:4000/graphql`. */
  subscriptionUrl: string;
  /**
   * The headers editor's initial content, for the schema fetch GraphiQL starts
   * on mount, before that (Monaco) editor exists to supply any headers.
   * @default undefined
   */
  initialHeaders?: Record<string, unknown>;
}

/** One caller's graphql-ws client, and the token its socket holds now. */
interface CallerSocket {
  readonly client: Client;
  readonly fetcher: Fetcher;
  authorization: string;
  socket?: WebSocket;
  /** Settles a pending refresh with the server's pong payload. */
  answer?: (payload: unknown) => void;
}

/** How long a refresh may wait for the server's pong before a new socket is opened instead. */
const REFRESH_TIMEOUT_MS = 3000;

/**
 * A GraphiQL fetcher that also authenticates subscriptions: the `Authorization`
 * header typed in the headers editor goes over HTTP as usual, and becomes the
 * graphql-ws `connection_init` payload `{ authorization }` (the toolkit's own
 * `wsConnectionParams` is fixed at creation, so it would miss edits).
 *
 * One lazy graphql-ws client per caller (the token's `sub`): a new token of the
 * same caller is handed to the open socket with a `ping` carrying it (CONTRACT.md,
 * token refresh), so running subscriptions go on; where the socket is closed or
 * the gateway refuses it, a socket of its own is opened for the new token.
 */
export function createExplorerFetcher({ url, subscriptionUrl, initialHeaders }: ExplorerFetcherOptions): Fetcher {
  const byCaller = new Map<string, CallerSocket>();

  const open = (authorization: string): CallerSocket => {
    const entry: { current?: CallerSocket } = {};
    const client = createClient({
      url: subscriptionUrl,
      // Read at every connect: a reconnect uses the latest token.
      connectionParams: () => {
        const token = entry.current?.authorization ?? authorization;
        return token ? { authorization: token } : {};
      },
      // A refused token stays refused: report 4403 at once instead of retrying (4401 already is fatal).
      shouldRetry: (event) => event instanceof CloseEvent && event.code !== CloseCode.Forbidden,
      on: {
        opened: (socket) => {
          if (entry.current) entry.current.socket = socket as WebSocket;
        },
        closed: () => {
          if (entry.current) entry.current.socket = undefined;
        },
        pong: (received, payload) => {
          if (received) entry.current?.answer?.(payload);
        },
      },
    });
    entry.current = { client, fetcher: createGraphiQLFetcher({ url, wsClient: client }), authorization };
    return entry.current;
  };

  /** Hands the new token to the open socket; true once the gateway took it. */
  const refresh = (caller: CallerSocket, authorization: string): Promise<boolean> => {
    const socket = caller.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), REFRESH_TIMEOUT_MS);
      caller.answer = (payload) => {
        clearTimeout(timer);
        caller.answer = undefined;
        resolve(typeof payload === 'object' && payload !== null && 'expiresAt' in payload);
      };
      socket.send(JSON.stringify({ type: 'ping', payload: { authorization } }));
    });
  };

  const fetcherFor = async (authorization: string): Promise<Fetcher> => {
    const key = callerOf(authorization);
    const known = byCaller.get(key);
    if (known && known.authorization === authorization) return known.fetcher;
    if (known && (await refresh(known, authorization))) {
      known.authorization = authorization;
      return known.fetcher;
    }
    if (known) void known.client.dispose();
    const opened = open(authorization);
    byCaller.set(key, opened);
    return opened.fetcher;
  };

  return (params, opts) => {
    if (params.operationName === 'IntrospectionQuery' && !opts?.headers && initialHeaders) {
      opts = { ...opts, headers: initialHeaders };
    }
    const authorization = authorizationOf(opts);
    const known = byCaller.get(callerOf(authorization));
    // The common case stays synchronous: GraphiQL gets the toolkit's own result as before.
    if (known && known.authorization === authorization) return known.fetcher(params, opts);
    return fetcherFor(authorization).then((fetcher) => fetcher(params, opts)) as ReturnType<Fetcher>;
  };
}

function authorizationOf(opts: FetcherOpts | undefined): string {
  for (const [name, value] of Object.entries(opts?.headers ?? {})) {
    if (name.toLowerCase() === 'authorization' && value != null) return String(value);
  }
  return '';
}

/** The token's `sub` (read, not verified: the gateway verifies), or the header itself when it is no JWT. */
function callerOf(authorization: string): string {
  const payload = authorization.replace(/^Bearer\s+/i, '').split('.')[1];
  if (payload) {
    try {
      const claims: unknown = JSON.parse(atob(payload.replaceAll('-', '+').replaceAll('_', '/')));
      const sub = typeof claims === 'object' && claims !== null ? Reflect.get(claims, 'sub') : undefined;
      if (typeof sub === 'string') return `sub:${sub}`;
    } catch {
      // Not a JWT: keyed by the header itself below.
    }
  }
  return `header:${authorization}`;
}
