import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupList, PROCESS_TEST_TIMEOUT_MS } from '../support/cleanup.js';
import { adminToken, graphql, startGatewayProcess } from '../support/gateway.js';
import { openFundedAccount, orderInput, PLACE } from '../support/orders.js';
import { uniqueName, waitFor } from '../support/resources.js';
import { subscribe, untilLive } from '../support/subscriber.js';
import { type TestGatewayEnv, testGatewayEnv } from '../support/test-env.js';

const cleanups = cleanupList();
let env: TestGatewayEnv;

beforeAll(async () => {
  env = await testGatewayEnv(cleanups, 'crash');
});

afterAll(() => cleanups.run());

describe('a durable subscriber across a gateway crash', () => {
  it('should have every order, with no gap, after the gateway serving it is killed mid-stream and it reconnects', {
    timeout: PROCESS_TEST_TIMEOUT_MS,
  }, async () => {
    const serving = await startGatewayProcess(env);
    cleanups.push(() => serving.kill());
    const placing = await startGatewayProcess(env);
    cleanups.push(() => placing.kill());
    const admin = await adminToken();
    const account = uniqueName('acc');
    await openFundedAccount(placing.url, admin, account, 1_000_000n);
    const subscriberId = uniqueName('ledger');
    const variables = { filter: { accountId: account }, subscriberId };

    const before = subscribe(serving.url, admin, variables);
    cleanups.push(() => before.close());
    await untilLive([before], async (i) => {
      await graphql(placing.url, PLACE, { input: orderInput(account, 1, `warm-${i}`) }, admin);
    });

    const placed: string[] = [];
    let killed = false;
    for (let i = 0; i < 80; i++) {
      const response = await graphql(placing.url, PLACE, { input: orderInput(account, 1, `flow-${i}`) }, admin);
      expect(response.errors).toBeUndefined();
      placed.push(response.data?.placeOrder.id);
      if (!killed && before.events.length >= 15) {
        await serving.kill('SIGKILL');
        killed = true;
      }
    }
    expect(killed).toBe(true);
    await waitFor('the subscriber to see its socket close', () => (before.closeCodes.length > 0 ? true : undefined));

    const restarted = await startGatewayProcess(env);
    cleanups.push(() => restarted.kill());
    const after = subscribe(restarted.url, admin, { ...variables, start: 'COMMITTED' });
    cleanups.push(() => after.close());
    const seen = () =>
      new Set([...before.events, ...after.events].filter((e) => e.order.idempotencyKey.startsWith('flow-')).map((e) => e.order.id));
    await waitFor(`all 80 orders (have ${seen().size})`, () => (placed.every((id) => seen().has(id)) ? true : undefined), 90_000).catch(
      (error: unknown) => {
        // What the gateways said about the subscription and the relay (which may have been on the killed one), for the failure message.
        const worth = (line: string) => !line.includes('"level":30,') || line.includes('subscription') || line.includes('relay');
        throw new Error(
          `${String(error)}\nthe restarted gateway logged:\n${restarted.lines.filter(worth).slice(-40).join('\n')}` +
            `\nthe placing gateway logged:\n${placing.lines.filter(worth).slice(-20).join('\n')}`,
        );
      },
    );
    expect([...seen()].sort()).toEqual([...placed].sort());
    // After the restart the stream resumes at the first undelivered order, never beyond it.
    const firstAfter = after.events.find((e) => e.order.idempotencyKey.startsWith('flow-'));
    const lastBefore = before.events.filter((e) => e.order.idempotencyKey.startsWith('flow-')).at(-1);
    expect(placed.indexOf(firstAfter!.order.id)).toBeLessThanOrEqual(placed.indexOf(lastBefore!.order.id) + 1);
  });
});
