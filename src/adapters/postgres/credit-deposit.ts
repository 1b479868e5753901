import type { Sql } from 'postgres';
import type { Account } from '../../domain/account.js';
import type { DepositCommand } from '../../ports/ledger.js';

/**
 * A deposit as one statement (one implicit transaction): the credit takes the account's row lock and is skipped
 * when the key was already used on the account; the deposit row is inserted only from the credit's row.
 * A racing call with the same key fails on the deposits primary key, which undoes its credit.
 *
 * One statement rather than `sql.begin`: postgres.js 3.4 writes its ROLLBACK to a connection that has already
 * closed when the server ends the session mid-transaction (pg_terminate_backend, a restart), and that write
 * throws in a timer, outside any promise, which ends the process (docs/decisions.md, "No sql.begin").
 *
 * Resolves with the credited account, or null when nothing was credited (no such account, or a used key).
 */
export async function creditDeposit(pg: Sql, command: DepositCommand): Promise<Account | null> {
  const amount = command.amount.toString();
  const [credited] = await pg<{ id: string; owner: string; currency: string; balance: bigint; created_at: string }[]>`
    with credit as (
      update accounts set balance = balance + ${amount}
      where id = ${command.accountId}
        and not exists (select 1 from deposits where account_id = ${command.accountId} and idempotency_key = ${command.idempotencyKey})
      returning id, owner, currency, balance, created_at
    ), recorded as (
      insert into deposits (account_id, idempotency_key, amount, balance_after)
      select id, ${command.idempotencyKey}, ${amount}, balance from credit
    )
    select id, owner, currency, balance, created_at::text as created_at from credit`;
  if (!credited) return null;
  return {
    id: credited.id,
    owner: credited.owner,
    currency: credited.currency,
    balance: BigInt(credited.balance),
    createdAt: new Date(credited.created_at),
  };
}
