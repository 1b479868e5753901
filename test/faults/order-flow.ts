import { errorCode, graphql } from '../support/gateway.js';
import { orderInput, PLACE } from '../support/orders.js';

export const PRODUCTS = ['phone-topup', 'gift-card', 'data-bundle'] as const;

export interface AckedOrder {
  readonly orderId: string;
  readonly accountId: string;
  readonly amount: bigint;
  readonly product: string;
  readonly key: string;
}

/** Answers that say "try again": the request may be retried with the same idempotencyKey. */
const RETRYABLE = new Set(['SERVICE_UNAVAILABLE', 'SHUTTING_DOWN', 'NETWORK']);

/**
 * Steady placeOrder traffic, as a client behind a load balancer sends it: a fixed rate over several accounts and
 * products, each order to the next live gateway; a failed or unanswered order is retried with the same
 * idempotencyKey on another gateway until it is answered. Only answered (acknowledged) orders count as placed.
 */
export class OrderFlow {
  readonly acked = new Map<string, AckedOrder>();
  /** Every answer that was not a success, by code (NETWORK: no HTTP answer at all). */
  readonly failures = new Map<string, number>();
  retries = 0;
  #sequence = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(
    private readonly urls: () => string[],
    private readonly bearer: string,
    private readonly accounts: readonly string[],
    private readonly keyPrefix: string,
    private readonly perSecond: number,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#inFlight.size >= 200) return;
      const n = this.#sequence++;
      const order = this.#place(n);
      this.#inFlight.add(order);
      void order.finally(() => this.#inFlight.delete(order));
    }, 1000 / this.perSecond);
  }

  /** Stops new orders and waits until every started one is answered. */
  async pause(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  /** Stops for good: orders still being retried are abandoned (for clean-up, when gateways may be gone). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.pause();
  }

  /** Codes other than the retryable ones (an internal error, a refusal): none is expected. */
  unexpectedFailures(): string[] {
    return [...this.failures.keys()].filter((code) => !RETRYABLE.has(code));
  }

  async #place(n: number): Promise<void> {
    const accountId = this.accounts[n % this.accounts.length]!;
    const amount = BigInt(1 + (n % 37));
    const product = PRODUCTS[n % PRODUCTS.length]!;
    const key = `${this.keyPrefix}-${n}`;
    const input = orderInput(accountId, amount, key, { product });
    for (let attempt = 0; !this.#stopped; attempt++) {
      const urls = this.urls();
      const url = urls[(n + attempt) % Math.max(1, urls.length)];
      const response = url
        ? await graphql<{ placeOrder: { id: string } }>(url, PLACE, { input }, this.bearer).catch(() => undefined)
        : undefined;
      const code = response ? errorCode(response) : 'NETWORK';
      if (code === undefined && response?.data?.placeOrder) {
        this.acked.set(response.data.placeOrder.id, { orderId: response.data.placeOrder.id, accountId, amount, product, key });
        return;
      }
      const failure = code ?? 'NO_DATA';
      this.failures.set(failure, (this.failures.get(failure) ?? 0) + 1);
      // A refusal is final; an internal error is retried (an order it hid replays) but still reported.
      if (!RETRYABLE.has(failure) && failure !== 'INTERNAL_SERVER_ERROR') return;
      this.retries++;
      await new Promise((resolve) => setTimeout(resolve, Math.min(250 * (attempt + 1), 2000)));
    }
  }
}
