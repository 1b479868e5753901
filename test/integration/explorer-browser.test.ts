import { mkdirSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintAccessToken } from '../../src/adapters/auth/access-tokens.js';
import { type App, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { SCOPES } from '../../src/domain/caller.js';
import { createLogger } from '../../src/logger.js';
import { ensureExplorerBuilt, launchChromium } from '../support/browser.js';
import { cleanupList } from '../support/cleanup.js';
import { adminToken, graphql, TEST_SECRET } from '../support/gateway.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { createTestDatabase, deleteGroupsWithPrefix, deleteTopic, testKafkaBrokers, uniqueName, waitFor } from '../support/resources.js';

/**
 * The explorer in a real browser against the real gateway (PostgreSQL, Kafka, the outbox
 * relay, graphql-ws): the development page, pre-filled with a token, runs its own
 * "Settled" example subscription and shows an order placed meanwhile.
 */

const SCREENSHOT = 'test-artifacts/explorer-subscription.png';
// The example tabs of src/transport/explorer.ts work on this account.
const EXAMPLE_ACCOUNT = 'acc-1';
// Browser steps wait on Monaco's lazily loaded editors and workers; give a loaded CI machine room.
const SLOW = { timeout: 15_000 };

const topic = uniqueName('orders').replaceAll('_', '-');
const groupPrefix = uniqueName('gqlexp').replaceAll('_', '-');
const cleanups = cleanupList();
let app: App;
let gatewayUrl: string;
let explorerToken: string;
let admin: string;
let browser: Browser;

beforeAll(async () => {
  await ensureExplorerBuilt();

  const db = await createTestDatabase();
  cleanups.push(db.drop);
  cleanups.push(() => deleteTopic(topic));
  // Ephemeral groups are the gateway's to delete; this only keeps a failed run from leaving any.
  cleanups.push(() => deleteGroupsWithPrefix(`${groupPrefix}.`));

  // As src/main.ts does in development: example tabs on, and the explorer pre-filled with a token of all scopes.
  const config = loadConfig({
    NODE_ENV: 'development',
    PORT: '0',
    HOST: '127.0.0.1',
    AUTH_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: 'silent',
    RELAY_POLL_MS: '200',
    DATABASE_URL: db.url,
    KAFKA_BROKERS: testKafkaBrokers().join(','),
    ORDERS_TOPIC: topic,
    KAFKA_GROUP_PREFIX: groupPrefix,
  });
  explorerToken = await mintAccessToken(config.AUTH_JWT_SECRET, { sub: 'developer', scope: [...SCOPES], expiresInSeconds: 3600 });
  app = await buildApp(config, createLogger(config.LOG_LEVEL), { explorerToken });
  const address = await app.start();
  cleanups.push(() => app.stop());
  gatewayUrl = `http://127.0.0.1:${address.port}`;
  admin = await adminToken();

  browser = await launchChromium();
  // Closed before the gateway stops, so the subscription ends from the browser's side first.
  cleanups.push(() => browser.close());
});

afterAll(() => cleanups.run());

/** What a Monaco editor inside `selector` shows, lines run together (Monaco renders spaces as no-break spaces). */
async function editorText(page: Page, selector: string): Promise<string> {
  return ((await page.locator(`${selector} .view-lines:visible`).first().textContent()) ?? '').replaceAll('\u00a0', ' ');
}

interface Recorded {
  /** Every URL the page requested over HTTP(S), and every websocket it opened. */
  requests: string[];
  sockets: string[];
  /** Requests or sockets to anything but the gateway's own host:port. */
  foreign: string[];
  /** The `connection_init` payloads the page sent. */
  connectionInits: unknown[];
  /** Console errors and warnings, page errors, CSP violations. */
  problems: string[];
}

interface Explorer {
  page: Page;
  recorded: Recorded;
  /** Status and Content-Security-Policy of the page's own response. */
  status: number | undefined;
  csp: string | undefined;
}

/** A fresh browser context that records every request, websocket frame sent and problem of its page. */
async function openExplorer(context: BrowserContext): Promise<Explorer> {
  const own = new URL(gatewayUrl);
  const recorded: Recorded = { requests: [], sockets: [], foreign: [], connectionInits: [], problems: [] };
  context.on('request', (request) => {
    const url = new URL(request.url());
    recorded.requests.push(request.url());
    // data: URLs never leave the browser; blob: URLs carry their creator's origin.
    if (url.protocol === 'data:') return;
    if (url.origin !== own.origin) recorded.foreign.push(request.url());
  });
  const page = await context.newPage();
  page.on('websocket', (socket) => {
    recorded.sockets.push(socket.url());
    const url = new URL(socket.url());
    if (url.protocol !== 'ws:' || url.host !== own.host) recorded.foreign.push(socket.url());
    socket.on('framesent', ({ payload }) => {
      try {
        const message = JSON.parse(String(payload)) as { type?: string; payload?: unknown };
        if (message.type === 'connection_init') recorded.connectionInits.push(message.payload);
      } catch {
        // not a graphql-ws message: not ours to check
      }
    });
  });
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') recorded.problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => recorded.problems.push(`pageerror: ${error.message}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  // A navigation sends Accept: text/html..., which is what makes GET /graphql the explorer.
  const response = await page.goto(`${gatewayUrl}/graphql`);
  await page.locator('.graphiql-execute-button').waitFor({ state: 'visible' });
  // GraphiQL ignores the execute button until its (lazily loaded) response editor exists.
  await page.locator('.graphiql-response .monaco-editor').waitFor({ state: 'visible' });
  return { page, recorded, status: response?.status(), csp: response?.headers()['content-security-policy'] };
}

async function placeOrder(key: string): Promise<string> {
  const placed = await graphql<{ placeOrder: { id: string } }>(gatewayUrl, PLACE, { input: orderInput(EXAMPLE_ACCOUNT, 100, key) }, admin);
  if (!placed.data?.placeOrder) throw new Error(`placeOrder ${key} failed: ${JSON.stringify(placed.errors)}`);
  return placed.data.placeOrder.id;
}

describe('explorer in a browser, against the real gateway', () => {
  it('should show a settled order in the OrderSettled example subscription, authenticated by the pre-filled token, all from its own origin', async () => {
    await openFundedAccount(gatewayUrl, admin, EXAMPLE_ACCOUNT, 1_000_000n);
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    cleanups.push(() => context.close());
    const { page, recorded, status, csp } = await openExplorer(context);

    expect(status).toBe(200);
    expect(csp).toContain("script-src 'self'");
    // The headers editor holds the development token; the test adds nothing of its own.
    await expect.poll(() => editorText(page, '.graphiql-editor-tool'), SLOW).toContain(`"Authorization":"Bearer ${explorerToken}"`);
    await expect(page.getByRole('tab').allInnerTexts()).resolves.toEqual(['Open', 'OrderSettled']);

    await page.getByRole('tab', { name: 'OrderSettled' }).click();
    await expect
      .poll(() => editorText(page, '.graphiql-query-editor'), SLOW)
      .toContain(`orderSettled(filter: { accountId: "${EXAMPLE_ACCOUNT}" })`);
    // Until GraphiQL has parsed the new tab, the button is still the first tab's menu of operations.
    await page.locator('.graphiql-execute-button:not([aria-haspopup])').click();
    await expect.poll(() => recorded.connectionInits, SLOW).toEqual([{ authorization: `Bearer ${explorerToken}` }]);

    // The subscription starts at LATEST once its consumer group has joined, which a client cannot
    // observe: place orders until one shows in the response pane, then the subscription is live.
    const placed: string[] = [];
    await waitFor(
      'an order placed after the subscription started to appear in the response pane',
      async () => {
        placed.push(await placeOrder(`explorer-warm-${placed.length}`));
        const shownBy = Date.now() + 1500;
        return waitFor('the last order or the next attempt', async () => {
          const response = await editorText(page, '.graphiql-response');
          if (placed.some((id) => response.includes(id))) return true;
          return Date.now() > shownBy ? false : undefined;
        }).then((shown) => (shown ? true : undefined));
      },
      45_000,
    );

    // Live now: this order must appear, with the fields of the example's selection.
    const orderId = await placeOrder('explorer-order');
    await expect.poll(() => editorText(page, '.graphiql-response'), SLOW).toContain(`"id": "${orderId}"`);
    const response = await editorText(page, '.graphiql-response');
    expect(response).toContain('"orderSettled": {');
    expect(response).toMatch(/"eventId": "[0-9a-f-]{36}"/);
    expect(response).toContain('"amount": "100"');
    expect(response).toContain('"product": "phone-topup"');
    expect(response).not.toContain('"errors"');

    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT });

    // One socket, opened once, with the headers editor's Authorization as its connection_init payload.
    expect(recorded.sockets).toEqual([`${gatewayUrl.replace(/^http/, 'ws')}/graphql`]);
    expect(recorded.connectionInits).toEqual([{ authorization: `Bearer ${explorerToken}` }]);
    expect(recorded.requests.length).toBeGreaterThan(0);
    expect(recorded.foreign).toEqual([]);
    expect(recorded.problems).toEqual([]);
  });
});
