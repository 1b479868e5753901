import { createGraphiQLFetcher, type Fetcher, type FetcherOpts } from '@graphiql/toolkit';
import { CloseCode, createClient } from 'graphql-ws';

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

/**
 * A GraphiQL fetcher that also authenticates subscriptions: the `Authorization`
 * header typed in the headers editor goes over HTTP as usual, and becomes the
 * graphql-ws `connection_init` payload `{ authorization }` (the toolkit's own
 * `wsConnectionParams` is fixed at creation, so it would miss edits).
 *
 * One lazy graphql-ws client per distinct authorization value: it opens its
 * socket on the first subscription and closes it when the last one ends.
 */
export function createExplorerFetcher({ url, subscriptionUrl, initialHeaders }: ExplorerFetcherOptions): Fetcher {
  const byAuthorization = new Map<string, Fetcher>();
  return (params, opts) => {
    if (params.operationName === 'IntrospectionQuery' && !opts?.headers && initialHeaders) {
      opts = { ...opts, headers: initialHeaders };
    }
    const authorization = authorizationOf(opts);
    let fetcher = byAuthorization.get(authorization);
    if (!fetcher) {
      const wsClient = createClient({
        url: subscriptionUrl,
        connectionParams: authorization ? { authorization } : {},
        // A refused token stays refused: report 4403 at once instead of retrying (4401 already is fatal).
        shouldRetry: (event) => event instanceof CloseEvent && event.code !== CloseCode.Forbidden,
      });
      fetcher = createGraphiQLFetcher({ url, wsClient });
      byAuthorization.set(authorization, fetcher);
    }
    return fetcher(params, opts);
  };
}

function authorizationOf(opts: FetcherOpts | undefined): string {
  for (const [name, value] of Object.entries(opts?.headers ?? {})) {
    if (name.toLowerCase() === 'authorization' && value != null) return String(value);
  }
  return '';
}
