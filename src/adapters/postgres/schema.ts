import { sql } from 'drizzle-orm';
import { bigint, bigserial, check, index, jsonb, pgTable, primaryKey, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';

const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

export const accounts = pgTable(
  'accounts',
  {
    id: text('id').primaryKey(),
    owner: text('owner').notNull(),
    currency: text('currency').notNull(),
    balance: bigint('balance', { mode: 'bigint' }).notNull().default(sql`0`),
    createdAt: instant('created_at').notNull().defaultNow(),
  },
  (t) => [check('accounts_balance_never_negative', sql`${t.balance} >= 0`)],
);

export const deposits = pgTable(
  'deposits',
  {
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id),
    idempotencyKey: text('idempotency_key').notNull(),
    amount: bigint('amount', { mode: 'bigint' }).notNull(),
    balanceAfter: bigint('balance_after', { mode: 'bigint' }).notNull(),
    createdAt: instant('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.idempotencyKey] }), check('deposits_amount_positive', sql`${t.amount} > 0`)],
);

export const orders = pgTable(
  'orders',
  {
    id: uuid('id').primaryKey(),
    /** Settlement order across the whole table; pagination and per-account ordering follow it. */
    seq: bigserial('seq', { mode: 'bigint' }).notNull().unique(),
    accountId: text('account_id')
      .notNull()
      .references(() => accounts.id),
    amount: bigint('amount', { mode: 'bigint' }).notNull(),
    currency: text('currency').notNull(),
    product: text('product').notNull(),
    reference: text('reference'),
    status: text('status').notNull().default('SETTLED'),
    balanceAfter: bigint('balance_after', { mode: 'bigint' }).notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    createdAt: instant('created_at').notNull(),
    settledAt: instant('settled_at').notNull(),
  },
  (t) => [
    index('orders_account_seq').on(t.accountId, t.seq.desc()),
    unique('orders_account_idempotency_key').on(t.accountId, t.idempotencyKey),
    check('orders_amount_positive', sql`${t.amount} > 0`),
    check('orders_balance_after_never_negative', sql`${t.balanceAfter} >= 0`),
  ],
);

/** The transactional outbox: Kafka records committed with the order, published by the relay. */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'bigint' }).primaryKey(),
    eventId: uuid('event_id').notNull().unique(),
    topic: text('topic').notNull(),
    key: text('key').notNull(),
    value: jsonb('value').notNull(),
    createdAt: instant('created_at').notNull().defaultNow(),
    publishedAt: instant('published_at'),
  },
  (t) => [index('outbox_pending').on(t.id).where(sql`${t.publishedAt} IS NULL`)],
);
