import { expect, it } from 'vitest';
import type { CleanupList } from './cleanup.js';
import { graphql } from './gateway.js';
import { openFundedAccount, orderInput, PLACE, placeOrdersOn } from './orders.js';
import { observeFor, uniqueName, waitFor } from './resources.js';
import { type Subscriber, subscribe, untilLive } from './subscriber.js';

export interface ScenarioTarget {
  /** Where clients go: one gateway, or a load balancer in front of several. */
  readonly url: string;
  readonly admin: string;
  readonly cleanups: CleanupList;
}

/**
 * The core orderSettled scenarios, against any address that serves the gateway's API: delivery to durable and
 * ephemeral subscribers, a durable subscriber's resumption, cursors and history, filters. Registers its `it`s in
 * the calling describe; `target` is read when each test runs (after beforeAll).
 */
export function orderSettledScenarios(target: () => ScenarioTarget): void {
  const track = (subscriber: Subscriber) => {
    target().cleanups.push(() => subscriber.close());
    return subscriber;
  };
  const placeOrders = (account: string, count: number, keyPrefix: string) =>
    placeOrdersOn(target().url, target().admin, account, count, keyPrefix);
  /**
   * Places one more order on `account` and waits until every subscriber has it. An account's orders share a
   * partition and reach a subscriber in order, so by then each earlier one has been delivered or filtered out: a
   * repeat or an extra among them is in the events already, where a fixed watch could only hope so.
   */
  const placeSentinel = async (subscribers: Subscriber[], account: string): Promise<string> => {
    const [id] = await placeOrders(account, 1, 'sentinel');
    await waitFor('the sentinel order at every subscriber', () =>
      subscribers.every((s) => s.events.some((e) => e.order.id === id)) ? true : undefined,
    );
    return id as string;
  };

  it('should deliver every order exactly once to two durable subscribers and an ephemeral one, with the contract fields', async () => {
    const { url, admin } = target();
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000_000n);
    const filter = { accountId: account };
    const subscribers = [
      track(subscribe(url, admin, { filter, subscriberId: uniqueName('recon') })),
      track(subscribe(url, admin, { filter, subscriberId: uniqueName('clearing') })),
      track(subscribe(url, admin, { filter })),
    ];
    await untilLive(subscribers, async (i) => {
      await placeOrders(account, 1, `warm-${i}`);
    });
    const placed = await placeOrders(account, 20, 'main');
    const mainOf = (subscriber: Subscriber) => subscriber.events.filter((e) => e.order.idempotencyKey.startsWith('main-'));
    await waitFor('20 main events at every subscriber', () => (subscribers.every((s) => mainOf(s).length >= 20) ? true : undefined));
    await placeSentinel(subscribers, account);
    // Everything placed after the warm-up, each exactly once, in the account's settlement order.
    for (const subscriber of subscribers) {
      const main = mainOf(subscriber);
      expect(main.map((e) => e.order.id)).toEqual(placed);
      expect(new Set(subscriber.events.map((e) => e.eventId)).size).toBe(subscriber.events.length);
      const sample = main[0]!;
      expect(sample).toMatchObject({
        order: { accountId: account, amount: '1', currency: 'USD', product: 'phone-topup', status: 'SETTLED' },
      });
      expect(sample.offset).toMatch(/^\d+$/);
      expect(Number.isNaN(Date.parse(sample.publishedAt))).toBe(false);
      expect(sample.cursor.length).toBeGreaterThan(10);
    }
  });

  it('should resume a durable subscriber where it left off: exactly the 50 orders placed while it was away', async () => {
    const { url, admin } = target();
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000_000n);
    const subscriberId = uniqueName('away');
    const first = subscribe(url, admin, { filter: { accountId: account }, subscriberId });
    await untilLive([first], async (i) => {
      await placeOrders(account, 1, `warm-${i}`);
    });
    await first.close();
    const placed = await placeOrders(account, 50, 'away');
    const again = track(subscribe(url, admin, { filter: { accountId: account }, subscriberId, start: 'COMMITTED' }));
    // A warm-up order still in flight when the first connection closed was never acknowledged: it may come again.
    const away = () => again.events.filter((e) => e.order.idempotencyKey.startsWith('away-'));
    await waitFor('the 50 orders placed while away', () => (away().length >= 50 ? true : undefined));
    await placeSentinel([again], account);
    expect(away().map((e) => e.order.id)).toEqual(placed);
  });

  it('should resume after a cursor with nothing skipped or repeated, and replay history from EARLIEST', async () => {
    const { url, admin } = target();
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000_000n);
    const placed = await placeOrders(account, 10, 'hist');
    const replay = track(subscribe(url, admin, { filter: { accountId: account }, start: 'EARLIEST' }));
    await replay.received(10);
    expect(replay.events.map((e) => e.order.id)).toEqual(placed);
    const cursor = replay.events[3]!.cursor;
    const resumed = track(subscribe(url, admin, { filter: { accountId: account }, afterCursor: cursor }));
    await resumed.received(6);
    const sentinel = await placeSentinel([resumed], account);
    expect(resumed.events.map((e) => e.order.id)).toEqual([...placed.slice(4), sentinel]);
  });

  it('should filter in the gateway by account, currency, product and minimum amount', async () => {
    const { url, admin } = target();
    const account = uniqueName('acc');
    await openFundedAccount(url, admin, account, 1_000_000n);
    const euros = uniqueName('eur');
    await openFundedAccount(url, admin, euros, 1_000_000n, 'EUR');
    const since = new Date().toISOString();
    const big = track(
      subscribe(url, admin, { filter: { accountId: account, product: 'gift-card', minAmount: '100', currency: 'USD' }, start: 'EARLIEST' }),
    );
    // No account filter: only the currency tells the two big gift cards apart.
    const inEuros = track(subscribe(url, admin, { filter: { product: 'gift-card', minAmount: '100', currency: 'EUR' }, since }));
    const place = async (accountId: string, amount: number, key: string, extra: Record<string, unknown>) => {
      const response = await graphql(url, PLACE, { input: orderInput(accountId, amount, key, extra) }, admin);
      expect(response.errors).toBeUndefined();
      return response.data?.placeOrder.id as string;
    };
    await place(account, 50, 'f1', { product: 'gift-card' });
    await place(account, 500, 'f2', { product: 'phone-topup' });
    const wanted = await place(account, 500, 'f3', { product: 'gift-card' });
    const wantedInEuros = await place(euros, 500, 'f4', { product: 'gift-card', currency: 'EUR' });
    await big.received(1);
    await inEuros.received(1);
    // A watch, not a sentinel: the USD gift card that only the currency filters out sits in another partition than
    // any euro order the euro subscriber could be sent, so no later order proves it was filtered.
    await observeFor(1000);
    expect(big.events.map((e) => e.order.id)).toEqual([wanted]);
    expect(inEuros.events.map((e) => e.order.id)).toEqual([wantedInEuros]);
  });
}
