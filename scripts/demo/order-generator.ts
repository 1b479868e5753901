/**
 * The producer side of the story: a few accounts in several currencies, a stream of
 * orders of several products through the gateway's placeOrder, and now and then one
 * the account cannot pay for (refused, never published).
 */
export const OPENING_DEPOSIT = 100_000_000n;

const PRODUCTS = ['phone-topup', 'phone-topup', 'groceries', 'fuel', 'books'] as const;
const CURRENCIES = ['USD', 'USD', 'EUR', 'GBP'] as const;

const OPEN = `mutation($input: OpenAccountInput!) { openAccount(input: $input) { id } }`;
const DEPOSIT = `mutation($input: DepositInput!) { deposit(input: $input) { balance } }`;
const PLACE = `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { id product } }`;

interface Answer {
  data?: Record<string, { id?: string; product?: string } | null> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface Placed {
  id: string;
  product: string;
  at: number;
}

export interface OrderGenerator {
  accounts: string[];
  settled: Placed[];
  refused: number;
  /** Requests that did not reach the gateway and were retried with the same key. */
  retried: number;
  /** Places orders at `perSecond` until stop() is called. */
  run(perSecond: number): Promise<void>;
  stop(): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function orderGenerator(gatewayUrl: string, token: string, runId: string): OrderGenerator {
  const accounts = CURRENCIES.map((_, i) => `demo-${runId}-${i + 1}`);
  let stopped = false;
  let n = 0;
  const generator: OrderGenerator = {
    accounts,
    settled: [],
    refused: 0,
    retried: 0,
    async run(perSecond) {
      for (const [i, id] of accounts.entries()) {
        await call(OPEN, { input: { id, owner: `demo customer ${i + 1}`, currency: CURRENCIES[i] } });
        await call(DEPOSIT, { input: { accountId: id, amount: String(OPENING_DEPOSIT), idempotencyKey: `${id}-opening` } });
      }
      const gap = 1000 / perSecond;
      let next = Date.now();
      while (!stopped) {
        await placeOne();
        next += gap;
        await sleep(Math.max(0, next - Date.now()));
      }
    },
    stop() {
      stopped = true;
    },
  };

  async function call(query: string, variables: Record<string, unknown>): Promise<Answer> {
    for (;;) {
      try {
        const response = await fetch(`${gatewayUrl}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query, variables }),
          signal: AbortSignal.timeout(10_000),
        });
        const answer = (await response.json()) as Answer;
        const code = answer.errors?.[0]?.extensions?.code;
        if (code === 'RATE_LIMITED' || code === 'INTERNAL_SERVER_ERROR') throw new Error(code);
        return answer;
      } catch {
        // Outcome unknown: the same idempotency key makes the retry safe.
        generator.retried += 1;
        await sleep(500);
      }
    }
  }

  async function placeOne(): Promise<void> {
    const i = n++;
    const slot = i % accounts.length;
    const accountId = accounts[slot]!;
    const refuse = i % 13 === 7;
    const product = PRODUCTS[(i * 7) % PRODUCTS.length]!;
    const amount = refuse ? OPENING_DEPOSIT * 10n : BigInt(100 + ((i * 7919) % 4900));
    const answer = await call(PLACE, {
      input: {
        accountId,
        amount: String(amount),
        currency: CURRENCIES[slot],
        product,
        reference: product === 'phone-topup' ? `+4470000${String(i % 50).padStart(4, '0')}` : `basket-${i}`,
        idempotencyKey: `${runId}-order-${i}`,
      },
    });
    const order = answer.data?.placeOrder;
    if (order?.id) generator.settled.push({ id: order.id, product: order.product ?? product, at: Date.now() });
    else generator.refused += 1;
  }

  return generator;
}
