import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { preferredType, type Route, sendText } from './routes.js';

/** What the page reads from `<script type="application/json" id="explorer-config">`. */
export interface ExplorerConfig {
  /** Initial content of GraphiQL's headers editor, e.g. `{"Authorization":"Bearer <token>"}`. */
  initialHeaders?: string;
  /** Tabs opened on a first visit (GraphiQL keeps a visitor's own tabs in localStorage afterwards). */
  initialTabs?: { query: string; variables?: string }[];
}

export interface ExplorerOptions {
  /** The Vite build of `explorer/`: `index.html` and `assets/`, normally `dist/explorer`. */
  assetsDir: string;
  /**
   * Written into every page served: development only (e.g. the generated dev token).
   * @default undefined, an empty headers editor
   */
  initialHeaders?: string;
  /** Tabs opened on a first visit (example operations); none when absent. */
  exampleTabs?: NonNullable<ExplorerConfig['initialTabs']>;
}

/** Where the hashed assets are served; explorer/vite.config.ts builds with the same `base`. */
export const EXPLORER_ASSETS_PATH = '/graphql/explorer/assets';

/** The mutations of the contract in one tab; each declared subscription comes in a tab of its own, to keep running. */
export const MUTATIONS_TAB: NonNullable<ExplorerConfig['initialTabs']>[number] = {
  query: `# Run Open and Deposit, start the subscription in the OrderSettled tab, then PlaceOrder.
# Replaying an idempotencyKey returns the original result: change it to place another order.

mutation Open {
  openAccount(input: { id: "acc-1", owner: "Alice", currency: "USD" }) {
    id
    owner
    currency
    balance
  }
}

mutation Deposit {
  deposit(input: { accountId: "acc-1", amount: "10000", idempotencyKey: "deposit-1" }) {
    id
    balance
  }
}

mutation PlaceOrder {
  placeOrder(
    input: {
      accountId: "acc-1"
      amount: "1999"
      currency: "USD"
      product: "phone-topup"
      reference: "+15550100"
      idempotencyKey: "order-1"
    }
  ) {
    id
    amount
    balanceAfter
    status
    settledAt
  }
}
`,
};

/** Whether `npm run build` has produced the explorer, so the server can say so at start-up. */
export function explorerAssetsExist(assetsDir: string): boolean {
  return existsSync(join(assetsDir, 'index.html'));
}

/** A browser asking for the page at `GET /graphql` (`Accept` prefers `text/html`) rather than a GraphQL response. */
function isBrowserPageRequest(request: IncomingMessage, path: string): boolean {
  return (
    (request.method === 'GET' || request.method === 'HEAD') &&
    path === '/graphql' &&
    preferredType(request.headers.accept, ['application/graphql-response+json', 'application/json', 'text/html']) === 'text/html'
  );
}

/** With the explorer turned off, a browser on `GET /graphql` is told so, instead of getting Apollo's CSRF refusal. */
export function createExplorerOffHandler(): Route {
  return {
    matches: isBrowserPageRequest,
    handle: (_request, response) => {
      response.setHeader('vary', 'Accept');
      sendText(
        response,
        404,
        'The GraphiQL explorer is turned off on this gateway (EXPLORER_ENABLED=false). Send GraphQL requests with POST.\n',
      );
    },
  };
}

/** Content types of what Vite builds into `assets/`. */
const ASSET_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

/** A file of `dir` named by the rest of a URL path, or undefined when it names none (or anything outside `dir`). */
function assetFile(dir: string, name: string): { path: string; size: number } | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(name);
  } catch {
    return undefined;
  }
  const path = normalize(join(dir, decoded));
  if (!path.startsWith(dir + sep) || decoded.includes('\0')) return undefined;
  try {
    const stats = statSync(path);
    return stats.isFile() ? { path, size: stats.size } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * GraphiQL on `GET /graphql` for browsers (`Accept` prefers `text/html`) and its
 * assets under {@link EXPLORER_ASSETS_PATH}, as routes of the gateway's one HTTP
 * server. A request that is not a browser's page request is left to the routes after.
 */
export function createExplorerHandler({ assetsDir, initialHeaders, exampleTabs }: ExplorerOptions): Route[] {
  const config: ExplorerConfig = {
    ...(initialHeaders ? { initialHeaders } : {}),
    ...(exampleTabs ? { initialTabs: exampleTabs } : {}),
  };
  const assets = join(assetsDir, 'assets');
  const page: Route = {
    matches: isBrowserPageRequest,
    handle: (request, response) => {
      response.setHeader('vary', 'Accept');
      if (!explorerAssetsExist(assetsDir)) {
        sendText(response, 503, 'The GraphiQL explorer is not built: run `npm run build`.\n');
        return;
      }
      // Read on every request (it is 1 KB): a rebuild while the gateway runs must not leave it pointing at old assets.
      const html = withConfig(readFileSync(join(assetsDir, 'index.html'), 'utf8'), config);
      setPageHeaders(request, response);
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.setHeader('content-length', Buffer.byteLength(html));
      response.end(request.method === 'HEAD' ? undefined : html);
    },
  };
  const files: Route = {
    matches: (request, path) => (request.method === 'GET' || request.method === 'HEAD') && path.startsWith(`${EXPLORER_ASSETS_PATH}/`),
    handle: (request, response) => {
      const path = (request.url ?? '').split('?')[0] ?? '';
      const file = assetFile(assets, path.slice(EXPLORER_ASSETS_PATH.length + 1));
      response.setHeader('x-content-type-options', 'nosniff');
      if (!file) {
        sendText(response, 404, 'Not found\n');
        return;
      }
      response.statusCode = 200;
      response.setHeader('content-type', ASSET_TYPES[extname(file.path)] ?? 'application/octet-stream');
      response.setHeader('content-length', file.size);
      // File names carry a content hash.
      response.setHeader('cache-control', 'public, max-age=31536000, immutable');
      if (request.method === 'HEAD') {
        response.end();
        return;
      }
      createReadStream(file.path)
        .on('error', () => response.destroy())
        .pipe(response);
    },
  };
  return [page, files];
}

const CONFIG_ELEMENT = /<script type="application\/json" id="explorer-config">[^<]*<\/script>/;

function withConfig(html: string, config: ExplorerConfig): string {
  if (!CONFIG_ELEMENT.test(html)) throw new Error('explorer: index.html has no #explorer-config element');
  // `<` escaped so no value can close the script element.
  const json = JSON.stringify(config).replaceAll('<', '\\u003c');
  return html.replace(CONFIG_ELEMENT, () => `<script type="application/json" id="explorer-config">${json}</script>`);
}

// A Host header we would echo into the policy; anything else falls back to 'self' alone.
const PLAIN_HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

function setPageHeaders(request: IncomingMessage, response: ServerResponse): void {
  const host = request.headers.host;
  // 'self' covers same-host websockets in CSP 3 browsers; the explicit origins are for older ones.
  const sockets = host && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  const headers: Record<string, string> = {
    'Content-Security-Policy': [
      "default-src 'none'",
      "script-src 'self'",
      // Monaco and GraphiQL insert <style> elements at run time.
      "style-src 'self' 'unsafe-inline'",
      // GraphiQL's CSS embeds its fonts and a few icons as data: URLs.
      "font-src 'self' data:",
      "img-src 'self' data:",
      "worker-src 'self'",
      `connect-src 'self'${sockets}`,
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
    // The page may carry a development token.
    'Cache-Control': 'no-store',
  };
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
}
