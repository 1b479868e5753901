import { graphql } from './gateway.js';

export const OPEN = `mutation($input: OpenAccountInput!) { openAccount(input: $input) { id owner currency balance createdAt } }`;
export const DEPOSIT = `mutation($input: DepositInput!) { deposit(input: $input) { id balance } }`;
export const PLACE = `mutation($input: PlaceOrderInput!) {
  placeOrder(input: $input) { id accountId amount currency product reference status balanceAfter idempotencyKey createdAt settledAt }
}`;
export const ACCOUNT = `query($id: ID!) { account(id: $id) { id balance } }`;

/** Opens an account and deposits `balance` into it. */
export async function openFundedAccount(url: string, bearer: string, id: string, balance: bigint, currency = 'USD') {
  const opened = await graphql(url, OPEN, { input: { id, owner: `owner of ${id}`, currency } }, bearer);
  if (opened.errors) throw new Error(JSON.stringify(opened.errors));
  if (balance > 0n) {
    const deposited = await graphql(
      url,
      DEPOSIT,
      { input: { accountId: id, amount: String(balance), idempotencyKey: `seed-${id}` } },
      bearer,
    );
    if (deposited.errors) throw new Error(JSON.stringify(deposited.errors));
  }
}

export const orderInput = (accountId: string, amount: bigint | number, key: string, extra: Record<string, unknown> = {}) => ({
  accountId,
  amount: String(amount),
  currency: 'USD',
  product: 'phone-topup',
  reference: '+15550100',
  idempotencyKey: key,
  ...extra,
});

export async function balanceOf(url: string, bearer: string, id: string): Promise<bigint> {
  const response = await graphql<{ account: { balance: string } }>(url, ACCOUNT, { id }, bearer);
  if (!response.data?.account) throw new Error(`no account ${id}: ${JSON.stringify(response.errors)}`);
  return BigInt(response.data.account.balance);
}

/** Places `count` orders of 1 on `account`, one after another (keys `<keyPrefix>-<i>`); the ids in settlement order. */
export async function placeOrdersOn(url: string, bearer: string, account: string, count: number, keyPrefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await graphql<{ placeOrder: { id: string } }>(
      url,
      PLACE,
      { input: orderInput(account, 1, `${keyPrefix}-${i}`) },
      bearer,
    );
    if (response.errors || !response.data) throw new Error(`placeOrder ${keyPrefix}-${i} failed: ${JSON.stringify(response.errors)}`);
    ids.push(response.data.placeOrder.id);
  }
  return ids;
}
