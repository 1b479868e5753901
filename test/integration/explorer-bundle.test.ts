import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { useServer as serveGraphqlWs } from 'graphql-ws/use/ws';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { buildGatewayGraphQL } from '../../src/graphql/schema.js';
import { subscriptionExamples } from '../../src/graphql/subscription-examples.js';
import { createExplorerHandler, EXPLORER_ASSETS_PATH, explorerAssetsExist, MUTATIONS_TAB } from '../../src/transport/explorer.js';
import { readRequestBody } from '../../src/transport/request-body.js';
import { type Route, routeFor, sendText } from '../../src/transport/routes.js';
import { sendJson } from '../../src/transport/send-json.js';
import { ensureExplorerBuilt, launchChromium } from '../support/browser.js';
import { cleanupList } from '../support/cleanup.js';

// graphql 16 has no "exports" map: Node (and so graphql-ws) loads its CommonJS build while
// Vite would hand this file the ESM one, and graphql refuses a schema from the other copy.
const { buildSchema, graphql, parse, validate } = createRequire(import.meta.url)('graphql') as typeof import('graphql');

const ASSETS_DIR = 'dist/explorer';
const SCREENSHOT = 'test-artifacts/explorer-bundle.png';
// Browser steps wait on Monaco's lazily loaded editors and workers; give a loaded CI machine room.
const SLOW = { timeout: 15_000 };
const TOKEN_HEADERS = '{"Authorization":"Bearer test-token"}';
// The project's schema once it exists; until then the contract it must contain.
const SCHEMA_FILE = ['schema.graphql', 'src/schema.graphql', '/work/shared/contract/schema.graphql'].find((file) => existsSync(file));

const settledEvent = {
  eventId: 'evt-1',
  partition: 0,
  offset: '7',
  publishedAt: '2026-11-24T09:30:00.000Z',
  order: {
    id: 'ord-1',
    accountId: 'acc-1',
    amount: '1999',
    currency: 'USD',
    product: 'phone-topup',
    reference: null,
    balanceAfter: '8001',
  },
};

const cleanups = cleanupList();
afterAll(() => cleanups.run());

/** The gateway's own example tabs: the mutations, then one subscription per field schema.graphql declares. */
const EXAMPLE_TABS = [MUTATIONS_TAB, ...subscriptionExamples(buildGatewayGraphQL().topics)];
const TOPUPS_SDL = fileURLToPath(new URL('../../examples/topups.graphql', import.meta.url));

/**
 * The explorer router alone, beside a stand-in GraphQL endpoint (HTTP and graphql-ws)
 * that records what the page sends.
 */
async function startServer() {
  if (!SCHEMA_FILE) throw new Error('no schema.graphql found');
  const schema = buildSchema(readFileSync(SCHEMA_FILE, 'utf8'));
  const roots = {
    subscription: {
      async *orderSettled() {
        yield { orderSettled: settledEvent };
      },
    },
  };
  const httpAuthorizations: (string | undefined)[] = [];
  const connectionParams: unknown[] = [];

  const explorer = createExplorerHandler({ assetsDir: ASSETS_DIR, initialHeaders: TOKEN_HEADERS, exampleTabs: EXAMPLE_TABS });
  const server = createServer((request, response) => {
    const route = routeFor(explorer, request);
    if (route) return void route.handle(request, response);
    if (request.method !== 'POST') return sendJson(response, 200, { servedBy: 'graphql' });
    httpAuthorizations.push(request.headers.authorization);
    void readRequestBody(request, 1 << 20).then(async (body) => {
      const { query, variables, operationName } = body as { query: string; variables?: Record<string, unknown>; operationName?: string };
      sendJson(
        response,
        200,
        await graphql({ schema, source: query, variableValues: variables ?? null, operationName: operationName ?? null }),
      );
    });
  });
  const wsServer = new WebSocketServer({ server, path: '/graphql' });
  serveGraphqlWs(
    {
      schema,
      roots,
      onConnect: (ctx) => {
        connectionParams.push(ctx.connectionParams);
      },
    },
    wsServer,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () => new Promise((resolve) => server.close(resolve)),
    () => wsServer.close(),
  );
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, httpAuthorizations, connectionParams };
}

/** What a Monaco editor inside `selector` shows, lines run together (Monaco renders spaces as no-break spaces). */
async function editorText(page: Page, selector: string): Promise<string> {
  return ((await page.locator(`${selector} .view-lines:visible`).first().textContent()) ?? '').replaceAll('\u00a0', ' ');
}

/** Pastes into the focused element: unlike typing, Monaco adds no closing brackets or quotes. */
async function paste(page: Page, text: string): Promise<void> {
  await page.evaluate((pasted) => {
    const clipboardData = new DataTransfer();
    clipboardData.setData('text/plain', pasted);
    document.activeElement?.dispatchEvent(new ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }));
  }, text);
}

describe('explorer bundle', () => {
  let browser: Browser;
  let server: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    await ensureExplorerBuilt();
    server = await startServer();
    browser = await launchChromium();
    cleanups.push(() => browser.close());
  });

  /** A fresh page that records every problem the browser reports. */
  async function openPage() {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    cleanups.push(() => context.close());
    const foreignRequests: string[] = [];
    const problems: string[] = [];
    context.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin !== server.origin && url.protocol !== 'data:' && url.protocol !== 'blob:') foreignRequests.push(request.url());
    });
    const page = await context.newPage();
    page.on('websocket', (socket) => {
      if (new URL(socket.url()).host !== new URL(server.origin).host) foreignRequests.push(socket.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
      });
    });
    const response = await page.goto(`${server.origin}/graphql`);
    await page.locator('.graphiql-execute-button').waitFor({ state: 'visible' });
    // GraphiQL ignores the execute button until its (lazily loaded) response editor exists.
    await page.locator('.graphiql-response .monaco-editor').waitFor({ state: 'visible' });
    return { page, response, foreignRequests, problems };
  }

  it('should render GraphiQL from its own origin with the configured headers and tabs', async () => {
    const { page, response, foreignRequests, problems } = await openPage();

    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect.poll(() => editorText(page, '.graphiql-query-editor'), SLOW).toContain('openAccount(input: { id: "acc-1"');
    await expect.poll(() => editorText(page, '.graphiql-editor-tool'), SLOW).toContain('"Authorization":"Bearer test-token"');
    await expect(page.getByRole('tab').allInnerTexts()).resolves.toEqual(['Open', 'OrderSettled']);
    // The schema is fetched with the initial token, before the headers editor exists.
    await expect.poll(() => server.httpAuthorizations, SLOW).toContain('Bearer test-token');
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    await expect.poll(() => page.locator('.graphiql-doc-explorer').textContent(), SLOW).toMatch(/subscription:\s*Subscription/);
    expect(foreignRequests).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('should send the Authorization header as the connection_init payload of subscriptions', async () => {
    const { page, foreignRequests, problems } = await openPage();

    await page.getByRole('tab', { name: 'OrderSettled' }).click();
    await expect.poll(() => editorText(page, '.graphiql-query-editor'), SLOW).toContain('subscription OrderSettled');
    // Until GraphiQL has parsed the new tab, the button is still the first tab's menu of operations.
    await page.locator('.graphiql-execute-button:not([aria-haspopup])').click();
    await expect.poll(() => editorText(page, '.graphiql-response'), SLOW).toContain('"eventId": "evt-1"');

    expect(server.connectionParams).toEqual([{ authorization: 'Bearer test-token' }]);
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    // A token typed into the headers editor is used by the next subscription.
    await page.locator('.graphiql-editor-tool .view-lines:visible').click();
    await page.keyboard.press('ControlOrMeta+A');
    await paste(page, '{"authorization": "Bearer typed-token"}');
    await expect.poll(() => editorText(page, '.graphiql-editor-tool'), SLOW).toBe('{"authorization": "Bearer typed-token"}');
    await page.locator('.graphiql-execute-button').click();
    await expect
      .poll(() => server.connectionParams, SLOW)
      .toEqual([{ authorization: 'Bearer test-token' }, { authorization: 'Bearer typed-token' }]);
    expect(foreignRequests).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('should serve the page to browsers only, with security headers and the config inline', async () => {
    const asJson = await fetch(`${server.origin}/graphql`, { headers: { accept: 'application/json' } });
    expect(await asJson.json()).toEqual({ servedBy: 'graphql' });
    const noAccept = await fetch(`${server.origin}/graphql`, { headers: { accept: '*/*' } });
    expect(await noAccept.json()).toEqual({ servedBy: 'graphql' });

    const page = await fetch(`${server.origin}/graphql`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('vary')).toBe('Accept');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const host = new URL(server.origin).host;
    expect(page.headers.get('content-security-policy')).toBe(
      `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; worker-src 'self'; connect-src 'self' ws://${host} wss://${host}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
    );
    const html = await page.text();
    const config = /<script type="application\/json" id="explorer-config">([^<]*)<\/script>/.exec(html)?.[1];
    expect(JSON.parse(config ?? 'null')).toEqual({ initialHeaders: TOKEN_HEADERS, initialTabs: EXAMPLE_TABS });

    const script = /src="([^"]+\.js)"/.exec(html)?.[1];
    expect(script?.startsWith(`${EXPLORER_ASSETS_PATH}/`)).toBe(true);
    const asset = await fetch(`${server.origin}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${server.origin}${EXPLORER_ASSETS_PATH}/missing.js`)).status).toBe(404);
  });

  it('should keep </script> in a config value from closing the config element', async () => {
    const html = await fetchPage(
      createExplorerHandler({
        assetsDir: ASSETS_DIR,
        initialHeaders: '{"x":"</script><script>alert(1)</script>"}',
      }),
    );
    expect(html).not.toContain('<script>alert(1)');
    const config = /<script type="application\/json" id="explorer-config">([^<]*)<\/script>/.exec(html)?.[1];
    expect(JSON.parse(config ?? 'null')).toEqual({ initialHeaders: '{"x":"</script><script>alert(1)</script>"}' });
  });

  it('should answer 503 naming the build command when the explorer is not built', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'explorer-'));
    cleanups.push(() => rmSync(empty, { recursive: true, force: true }));
    expect(explorerAssetsExist(empty)).toBe(false);
    const page = await fetchPageWithStatus(createExplorerHandler({ assetsDir: empty }));
    expect(page.status).toBe(503);
    expect(page.body).toContain('npm run build');
  });

  it('should offer example operations that are valid against the schema, one subscription per declared field', () => {
    const schema = buildSchema(readFileSync(SCHEMA_FILE ?? '', 'utf8'));
    for (const tab of EXAMPLE_TABS) expect(validate(schema, parse(tab.query)).map(String)).toEqual([]);
    const withTopups = buildGatewayGraphQL({ schemaPaths: [TOPUPS_SDL] });
    const examples = subscriptionExamples(withTopups.topics);
    expect(examples.map((tab) => /subscription (\w+)/.exec(tab.query)?.[1])).toEqual(['OrderSettled', 'TopupCompleted']);
    for (const tab of examples) expect(validate(withTopups.schema, parse(tab.query)).map(String)).toEqual([]);
  });
});

/** GETs /graphql as a browser from `app` on a throwaway port. */
async function fetchPage(routes: Route[]): Promise<string> {
  return (await fetchPageWithStatus(routes)).body;
}

/** A browser's GET /graphql, answered by `routes` alone. */
async function fetchPageWithStatus(routes: Route[]): Promise<{ status: number; body: string }> {
  const server = createServer((request, response) => {
    const route = routeFor(routes, request);
    if (route) void route.handle(request, response);
    else sendText(response, 404, 'no route\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } });
    return { status: response.status, body: await response.text() };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}
