import type { Account } from '../domain/account.js';
import type { Order } from '../domain/order.js';

export interface OpenAccountCommand {
  readonly id: string;
  readonly owner: string;
  readonly currency: string;
}

export interface DepositCommand {
  readonly accountId: string;
  readonly amount: bigint;
  readonly idempotencyKey: string;
}

export interface PlaceOrderCommand {
  readonly accountId: string;
  readonly amount: bigint;
  readonly currency: string;
  readonly product: string;
  readonly reference: string | null;
  readonly idempotencyKey: string;
  /** When the request arrived. */
  readonly createdAt: Date;
}

export interface OrderPage {
  readonly orders: readonly { readonly order: Order; readonly cursor: string }[];
  readonly hasNextPage: boolean;
}

/**
 * Accounts and orders, with every money movement atomic. Implementations
 * enforce, each inside one transaction: the balance never goes below zero;
 * an idempotency key settles at most once per account; a settled order and
 * its outbox record commit together. Domain failures are AppErrors.
 */
export interface Ledger {
  openAccount(command: OpenAccountCommand): Promise<Account>;
  deposit(command: DepositCommand): Promise<Account>;
  placeOrder(command: PlaceOrderCommand): Promise<Order>;
  findAccount(id: string): Promise<Account | null>;
  findOrder(id: string): Promise<Order | null>;
  /** Newest first; `after` is a cursor of a previous page. */
  listOrders(accountId: string, first: number, after: string | null): Promise<OrderPage>;
}
