import { and, desc, eq, lt } from 'drizzle-orm';
import type { Account } from '../../domain/account.js';
import type { Order } from '../../domain/order.js';
import { AppError } from '../../errors.js';
import type { DepositCommand, Ledger, OpenAccountCommand, OrderPage, PlaceOrderCommand } from '../../ports/ledger.js';
import { creditDeposit } from './credit-deposit.js';
import type { Database } from './database.js';
import { withOutagesAsRetryable } from './ledger-outages.js';
import type { OutboxSignal } from './outbox-writer.js';
import { decodePageCursor, encodePageCursor } from './page-cursor.js';
import { isPgError, PG_NUMERIC_OUT_OF_RANGE, PG_UNIQUE_VIOLATION } from './pg-errors.js';
import { toAccount, toOrder } from './rows.js';
import { accounts, deposits, orders } from './schema.js';
import { settleOrder } from './settle-order.js';

const notFound = (id: string) => new AppError('ACCOUNT_NOT_FOUND', `account ${id} does not exist`);
const conflict = (what: string) => new AppError('IDEMPOTENCY_CONFLICT', `${what} was already used on this account for a different request`);

const sameOrderRequest = (order: Order, command: PlaceOrderCommand): boolean =>
  order.amount === command.amount &&
  order.currency === command.currency &&
  order.product === command.product &&
  order.reference === command.reference;

/** The Ledger on PostgreSQL. Every money movement is one statement that locks its account row, so they serialize per account. */
export function createPostgresLedger(database: Pick<Database, 'db' | 'sql'>, ordersTopic: string, outboxSignal: OutboxSignal): Ledger {
  const { db, sql: pg } = database;

  const settle = (command: PlaceOrderCommand) => settleOrder(pg, command, ordersTopic);

  /** Why a debit was refused: a replayed key, no such account, another currency, or not enough money. */
  async function explainRefusal(command: PlaceOrderCommand): Promise<Order> {
    const previous = await db.query.orders.findFirst({
      where: and(eq(orders.accountId, command.accountId), eq(orders.idempotencyKey, command.idempotencyKey)),
    });
    if (previous) {
      const order = toOrder(previous);
      if (!sameOrderRequest(order, command)) throw conflict('idempotencyKey');
      return order;
    }
    const account = await db.query.accounts.findFirst({ where: eq(accounts.id, command.accountId) });
    if (!account) throw notFound(command.accountId);
    if (account.currency !== command.currency) {
      throw new AppError('CURRENCY_MISMATCH', `account ${account.id} holds ${account.currency}, not ${command.currency}`);
    }
    throw new AppError('INSUFFICIENT_FUNDS', `account ${account.id} cannot afford ${command.amount}`);
  }

  /** Why nothing was credited: a replayed key (answered as it was then) or no such account. */
  async function explainSkippedDeposit(command: DepositCommand): Promise<Account> {
    const previous = await db.query.deposits.findFirst({
      where: and(eq(deposits.accountId, command.accountId), eq(deposits.idempotencyKey, command.idempotencyKey)),
    });
    const account = await db.query.accounts.findFirst({ where: eq(accounts.id, command.accountId) });
    if (!account) throw notFound(command.accountId);
    if (!previous) throw new AppError('INTERNAL_SERVER_ERROR', `deposit ${command.idempotencyKey} was neither credited nor found`);
    if (previous.amount !== command.amount) throw conflict('idempotencyKey');
    // A replay answers what the deposit answered then, not what the balance is now.
    return { ...toAccount(account), balance: previous.balanceAfter };
  }

  const ledger: Ledger = {
    async openAccount(command: OpenAccountCommand): Promise<Account> {
      const inserted = await db.insert(accounts).values(command).onConflictDoNothing().returning();
      const row = inserted[0] ?? (await db.query.accounts.findFirst({ where: eq(accounts.id, command.id) }));
      if (!row) throw new AppError('INTERNAL_SERVER_ERROR', 'account vanished after insert');
      // Opening the same id again is an idempotent retry only when it asks for the same account.
      if (row.owner !== command.owner || row.currency !== command.currency) {
        throw new AppError('IDEMPOTENCY_CONFLICT', `account ${command.id} already exists with another owner or currency`);
      }
      return toAccount(row);
    },

    async deposit(command: DepositCommand): Promise<Account> {
      for (let attempt = 1; ; attempt++) {
        try {
          const credited = await creditDeposit(pg, command);
          return credited ?? (await explainSkippedDeposit(command));
        } catch (error) {
          if (isPgError(error, PG_NUMERIC_OUT_OF_RANGE)) {
            throw new AppError('BAD_USER_INPUT', 'the deposit would take the balance beyond what an account can hold');
          }
          // Two calls with one key raced past the guard: the loser rolled back whole; the next attempt finds the winner.
          if (attempt < 3 && isPgError(error, PG_UNIQUE_VIOLATION)) continue;
          throw error;
        }
      }
    },

    async placeOrder(command: PlaceOrderCommand): Promise<Order> {
      for (let attempt = 1; ; attempt++) {
        try {
          const settled = await settle(command);
          if (settled) {
            outboxSignal.committed();
            return settled;
          }
          return await explainRefusal(command);
        } catch (error) {
          // Two calls with one key raced past the guard: the loser rolled back whole; the next attempt finds the winner.
          if (attempt < 3 && isPgError(error, PG_UNIQUE_VIOLATION)) continue;
          throw error;
        }
      }
    },

    async findAccount(id: string): Promise<Account | null> {
      const row = await db.query.accounts.findFirst({ where: eq(accounts.id, id) });
      return row ? toAccount(row) : null;
    },

    async findOrder(id: string): Promise<Order | null> {
      const row = await db.query.orders.findFirst({ where: eq(orders.id, id) });
      return row ? toOrder(row) : null;
    },

    async listOrders(accountId: string, first: number, after: string | null): Promise<OrderPage> {
      const before = after === null ? null : decodePageCursor(after);
      const rows = await db
        .select()
        .from(orders)
        .where(before === null ? eq(orders.accountId, accountId) : and(eq(orders.accountId, accountId), lt(orders.seq, before)))
        .orderBy(desc(orders.seq))
        .limit(first + 1);
      return {
        orders: rows.slice(0, first).map((row) => ({ order: toOrder(row), cursor: encodePageCursor(row.seq) })),
        hasNextPage: rows.length > first,
      };
    },
  };
  return withOutagesAsRetryable(ledger);
}
