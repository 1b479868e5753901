/**
 * Real-time reconciliation: sums settled orders per account from its own durable
 * subscription and, on a timer, compares `deposits - orders` with `account.balance`
 * asked of the gateway. Deposits are not on the topic; every demo account is opened
 * with one deposit of RECON_OPENING_DEPOSIT. A difference is reported loudly.
 */
import { followOrderSettled } from './support/followed-fields.js';
import { runSubscribedSystem } from './support/subscribed-system.js';

interface Ledger {
  /** account -> sum of its settled orders, minor units. */
  ordered: Record<string, string>;
  /** account -> id of the last order applied (orders of one account arrive in settlement order). */
  lastOrder: Record<string, string>;
  checks: number;
  /** Differences found by the last check. */
  differences: number;
  lastCheckAt: string | null;
  behind: number;
}

const openingDeposit = BigInt(process.env.RECON_OPENING_DEPOSIT ?? '0');
const intervalMs = Number(process.env.RECON_INTERVAL_MS ?? 1000);

const system = runSubscribedSystem<Ledger>({
  name: 'recon',
  subscriberId: 'demo',
  initialFigure: () => ({ ordered: {}, lastOrder: {}, checks: 0, differences: 0, lastCheckAt: null, behind: 0 }),
  follows: [
    followOrderSettled({
      apply(ledger: Ledger, { order }) {
        ledger.ordered[order.accountId] = String(BigInt(ledger.ordered[order.accountId] ?? '0') + BigInt(order.amount));
        ledger.lastOrder[order.accountId] = order.id;
      },
    }),
  ],
});

const ACCOUNT = `query($id: ID!) { account(id: $id) { balance orders(first: 1) { edges { node { id } } } } }`;

interface Snapshot {
  balance: bigint;
  newest: string | undefined;
}

async function snapshot(id: string): Promise<Snapshot | undefined> {
  const response = await fetch(`${system.env.gatewayUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${system.env.token}` },
    body: JSON.stringify({ query: ACCOUNT, variables: { id } }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await response.json()) as {
    data?: { account: { balance: string; orders: { edges: { node: { id: string } }[] } } | null };
  };
  const account = body.data?.account;
  return account ? { balance: BigInt(account.balance), newest: account.orders.edges[0]?.node.id } : undefined;
}

/**
 * Compares only accounts whose newest order it has applied (otherwise it is merely behind),
 * and reads twice so that an order settling between the two reads of one query is not a difference.
 */
async function check(): Promise<void> {
  const ledger = system.state.figure;
  let differences = 0;
  let behind = 0;
  for (const [account, ordered] of Object.entries(ledger.ordered)) {
    const first = await snapshot(account);
    const second = await snapshot(account);
    if (!first || !second || first.balance !== second.balance || first.newest !== second.newest) {
      behind += 1;
      continue;
    }
    if (second.newest !== ledger.lastOrder[account]) {
      behind += 1;
      continue;
    }
    const expected = openingDeposit - BigInt(ordered);
    if (expected !== second.balance) {
      differences += 1;
      system.log(`!!! DIFFERENCE on ${account}: deposits - orders = ${expected}, balance = ${second.balance}`);
    }
  }
  ledger.checks += 1;
  ledger.differences = differences;
  ledger.behind = behind;
  ledger.lastCheckAt = new Date().toISOString();
  system.save();
}

const tick = async () => {
  try {
    await check();
  } catch (error) {
    system.log(`check failed (gateway unreachable?): ${error instanceof Error ? error.message : String(error)}`);
  }
  setTimeout(tick, intervalMs).unref();
};
setTimeout(tick, intervalMs).unref();
