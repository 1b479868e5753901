import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import type { Order } from '../../domain/order.js';
import { toOrderSettledEvent } from '../../domain/order-event.js';
import type { PlaceOrderCommand } from '../../ports/ledger.js';

/**
 * placeOrder's whole settlement as one statement, so one round trip and one implicit transaction: the
 * conditional debit (it takes the account's row lock, never takes the balance below zero, and refuses a key
 * already used on the account), then the order row and its outbox record, inserted only from the debit's row.
 * Either all three happen or none (a unique violation by a racing call with the same key undoes the debit).
 *
 * The event is serialized here, before the debit is known; the statement writes the debited balance into it.
 * drizzle makes this client's timestamp and json serializers pass strings through, so instants go as ISO text.
 *
 * The outbox row's created_at is the moment of its insert (after the row lock was granted), not the
 * statement's start, so commit-to-Kafka figures do not count the wait for a busy account.
 *
 * Resolves with the settled order, or null when the debit was refused (the caller explains why).
 */
export async function settleOrder(pg: Sql, command: PlaceOrderCommand, topic: string): Promise<Order | null> {
  const draft: Order = {
    id: randomUUID(),
    accountId: command.accountId,
    amount: command.amount,
    currency: command.currency,
    product: command.product,
    reference: command.reference,
    status: 'SETTLED',
    balanceAfter: 0n,
    idempotencyKey: command.idempotencyKey,
    createdAt: command.createdAt,
    settledAt: new Date(),
  };
  const eventId = randomUUID();
  const amount = command.amount.toString();
  const [settled] = await pg<{ balance_after: bigint }[]>`
    with debit as (
      update accounts set balance = balance - ${amount}
      where id = ${command.accountId} and currency = ${command.currency} and balance >= ${amount}
        and not exists (select 1 from orders where account_id = ${command.accountId} and idempotency_key = ${command.idempotencyKey})
      returning balance
    ), settled as (
      insert into orders (id, account_id, amount, currency, product, reference, status, balance_after, idempotency_key, created_at, settled_at)
      select ${draft.id}, ${command.accountId}, ${amount}, ${command.currency}, ${command.product}, ${command.reference},
        'SETTLED', balance, ${command.idempotencyKey}, ${draft.createdAt.toISOString()}, ${draft.settledAt.toISOString()}
      from debit
      returning balance_after
    ), queued as (
      insert into outbox (event_id, topic, key, value, created_at)
      select ${eventId}, ${topic}, ${command.accountId},
        jsonb_set(${JSON.stringify(toOrderSettledEvent(eventId, draft))}::text::jsonb, '{data,balanceAfter}', to_jsonb(balance_after::text)),
        clock_timestamp()
      from settled
    )
    select balance_after from settled`;
  return settled ? { ...draft, balanceAfter: BigInt(settled.balance_after) } : null;
}
