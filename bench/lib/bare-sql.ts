import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { toOrderSettledEvent } from '../../src/domain/order-event.js';

/**
 * The baseline of placeOrder: the same settlement as bare postgres.js calls from the load generator, with no
 * HTTP, GraphQL or token in front. `transaction` is the reference (conditional debit, order row, outbox
 * row with the full ~600-byte event, in one transaction of three statements); `statement` is the same work as
 * one statement, as the gateway now sends it.
 */
export type BareShape = 'transaction' | 'statement';

export function bareSettlement(url: string, connections: number) {
  const sql = postgres(url, { max: connections, onnotice: () => {}, fetch_types: false });
  const event = (accountId: string, key: string, balanceAfter: bigint) => {
    const now = new Date();
    const order = {
      id: randomUUID(),
      accountId,
      amount: 1n,
      currency: 'USD',
      product: 'bench',
      reference: '+15550100',
      status: 'SETTLED' as const,
      balanceAfter,
      idempotencyKey: key,
      createdAt: now,
      settledAt: now,
    };
    return { order, eventId: randomUUID(), now: now.toISOString() };
  };

  const inTransaction = (accountId: string, key: string) =>
    sql.begin(async (tx) => {
      const [row] = await tx<{ balance: string }[]>`
        update accounts set balance = balance - 1
        where id = ${accountId} and currency = 'USD' and balance >= 1
          and not exists (select 1 from orders where account_id = ${accountId} and idempotency_key = ${key})
        returning balance`;
      if (!row) throw new Error(`bare debit refused on ${accountId}`);
      const { order, eventId, now } = event(accountId, key, BigInt(row.balance));
      await tx`insert into orders (id, account_id, amount, currency, product, reference, status, balance_after, idempotency_key, created_at, settled_at)
        values (${order.id}, ${accountId}, 1, 'USD', 'bench', '+15550100', 'SETTLED', ${row.balance}, ${key}, ${now}, ${now})`;
      await tx`insert into outbox (event_id, topic, key, value)
        values (${eventId}, 'bare', ${accountId}, ${JSON.stringify(toOrderSettledEvent(eventId, order))}::text::jsonb)`;
    });

  const inOneStatement = async (accountId: string, key: string) => {
    const { order, eventId, now } = event(accountId, key, 0n);
    const [row] = await sql<{ balance: string }[]>`
      with debit as (
        update accounts set balance = balance - 1
        where id = ${accountId} and currency = 'USD' and balance >= 1
          and not exists (select 1 from orders where account_id = ${accountId} and idempotency_key = ${key})
        returning balance
      ), settled as (
        insert into orders (id, account_id, amount, currency, product, reference, status, balance_after, idempotency_key, created_at, settled_at)
        select ${order.id}, ${accountId}, 1, 'USD', 'bench', '+15550100', 'SETTLED', balance, ${key}, ${now}, ${now} from debit
        returning balance_after
      ), published as (
        insert into outbox (event_id, topic, key, value)
        select ${eventId}, 'bare', ${accountId},
          jsonb_set(${JSON.stringify(toOrderSettledEvent(eventId, order))}::text::jsonb, '{data,balanceAfter}', to_jsonb(balance_after::text))
        from settled
      )
      select balance_after as balance from settled`;
    if (!row) throw new Error(`bare debit refused on ${accountId}`);
  };

  return {
    /** Funded accounts `${prefix}-N`. */
    async openAccounts(prefix: string, count: number): Promise<string[]> {
      await sql`insert into accounts (id, owner, currency, balance)
        select ${prefix} || '-' || g, 'bench', 'USD', 1000000000000 from generate_series(0, ${count - 1}) g`;
      return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
    },
    settle: (shape: BareShape, accountId: string, key: string) =>
      shape === 'transaction' ? inTransaction(accountId, key) : inOneStatement(accountId, key),
    close: () => sql.end({ timeout: 5 }),
  };
}
