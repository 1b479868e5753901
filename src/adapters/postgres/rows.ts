import type { Account } from '../../domain/account.js';
import type { Order } from '../../domain/order.js';
import type { accounts, orders } from './schema.js';

export const toAccount = (row: typeof accounts.$inferSelect): Account => ({
  id: row.id,
  owner: row.owner,
  currency: row.currency,
  balance: row.balance,
  createdAt: row.createdAt,
});

export const toOrder = (row: typeof orders.$inferSelect): Order => ({
  id: row.id,
  accountId: row.accountId,
  amount: row.amount,
  currency: row.currency,
  product: row.product,
  reference: row.reference,
  status: 'SETTLED',
  balanceAfter: row.balanceAfter,
  idempotencyKey: row.idempotencyKey,
  createdAt: row.createdAt,
  settledAt: row.settledAt,
});
