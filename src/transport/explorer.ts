import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';

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

/** True for a browser asking for a page (`Accept` prefers `text/html`) rather than a GraphQL response. */
function wantsPage(req: Request, res: Response): boolean {
  res.vary('Accept');
  return req.accepts(['application/graphql-response+json', 'application/json', 'text/html']) === 'text/html';
}

/** With the explorer turned off, a browser on `GET /graphql` is told so, instead of getting Apollo's CSRF refusal. */
export function createExplorerOffHandler(): Router {
  return express.Router().get('/graphql', (req, res, next) => {
    if (!wantsPage(req, res)) {
      next();
      return;
    }
    res
      .status(404)
      .type('text/plain')
      .send('The GraphiQL explorer is turned off on this gateway (EXPLORER_ENABLED=false). Send GraphQL requests with POST.\n');
  });
}

/**
 * GraphiQL on `GET /graphql` for browsers (`Accept` prefers `text/html`) and its
 * assets under {@link EXPLORER_ASSETS_PATH}; every other request goes on to the
 * next handler. Mount it before Apollo: `app.use(createExplorerHandler(...))`.
 */
export function createExplorerHandler({ assetsDir, initialHeaders, exampleTabs }: ExplorerOptions): Router {
  const config: ExplorerConfig = {
    ...(initialHeaders ? { initialHeaders } : {}),
    ...(exampleTabs ? { initialTabs: exampleTabs } : {}),
  };
  const router = express.Router();

  router.get('/graphql', (req, res, next) => {
    if (!wantsPage(req, res)) {
      next();
      return;
    }
    if (!explorerAssetsExist(assetsDir)) {
      res.status(503).type('text/plain').send('The GraphiQL explorer is not built: run `npm run build`.\n');
      return;
    }
    // Read on every request (it is 1 KB): a rebuild while the gateway runs must not leave it pointing at old assets.
    const page = withConfig(readFileSync(join(assetsDir, 'index.html'), 'utf8'), config);
    setPageHeaders(req, res);
    res.type('html').send(page);
  });

  router.use(
    EXPLORER_ASSETS_PATH,
    express.static(join(assetsDir, 'assets'), {
      immutable: true, // file names carry a content hash
      maxAge: '1y',
      index: false,
      fallthrough: false,
      setHeaders: (res) => res.setHeader('X-Content-Type-Options', 'nosniff'),
    }),
  );
  return router;
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

function setPageHeaders(req: Request, res: Response): void {
  const host = req.headers.host;
  // 'self' covers same-host websockets in CSP 3 browsers; the explicit origins are for older ones.
  const sockets = host && PLAIN_HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  res.set({
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
  });
}
