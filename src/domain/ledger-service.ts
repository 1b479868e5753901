import { randomUUID } from 'node:crypto';
import type { Ledger, OrderPage } from '../ports/ledger.js';
import { assertCanManageAccounts, assertCanPlaceOrder, assertCanReadAccount, assertCanReadOrder, requireCaller } from './access.js';
import type { Account } from './account.js';
import type { Caller } from './caller.js';
import type { Order } from './order.js';
import * as valid from './validation.js';

export interface OpenAccountInput {
  id?: string | null;
  owner: string;
  currency: string;
}

export interface DepositInput {
  accountId: string;
  amount: bigint;
  idempotencyKey: string;
}

export interface PlaceOrderInput {
  accountId: string;
  amount: bigint;
  currency: string;
  product: string;
  reference?: string | null;
  idempotencyKey: string;
}

/**
 * The command and query use cases: authorize, validate, then ask the ledger.
 * Authorization comes first so that a caller without the right learns nothing
 * about accounts it does not hold.
 */
export function createLedgerService(ledger: Ledger) {
  return {
    openAccount(caller: Caller | null, input: OpenAccountInput): Promise<Account> {
      assertCanManageAccounts(requireCaller(caller));
      return ledger.openAccount({
        id: input.id == null ? randomUUID() : valid.accountId(input.id, 'id'),
        owner: valid.ownerName(input.owner),
        currency: valid.currencyCode(input.currency, 'currency'),
      });
    },

    deposit(caller: Caller | null, input: DepositInput): Promise<Account> {
      assertCanManageAccounts(requireCaller(caller));
      return ledger.deposit({
        accountId: valid.accountId(input.accountId, 'accountId'),
        amount: valid.positiveAmount(input.amount),
        idempotencyKey: valid.idempotencyKey(input.idempotencyKey),
      });
    },

    placeOrder(caller: Caller | null, input: PlaceOrderInput): Promise<Order> {
      const createdAt = new Date();
      const accountId = valid.accountId(input.accountId, 'accountId');
      assertCanPlaceOrder(requireCaller(caller), accountId);
      return ledger.placeOrder({
        accountId,
        amount: valid.positiveAmount(input.amount),
        currency: valid.currencyCode(input.currency, 'currency'),
        product: valid.productCode(input.product, 'product'),
        reference: input.reference == null ? null : valid.orderReference(input.reference),
        idempotencyKey: valid.idempotencyKey(input.idempotencyKey),
        createdAt,
      });
    },

    account(caller: Caller | null, id: string): Promise<Account | null> {
      const accountId = valid.accountId(id, 'id');
      assertCanReadAccount(requireCaller(caller), accountId);
      return ledger.findAccount(accountId);
    },

    async order(caller: Caller | null, id: string): Promise<Order | null> {
      const who = requireCaller(caller);
      const order = await ledger.findOrder(valid.orderId(id, 'id'));
      // Missing or another account's: the same FORBIDDEN, so ids cannot be probed (docs/contract-additions.md).
      assertCanReadOrder(who, order?.accountId);
      return order;
    },

    orders(caller: Caller | null, accountId: string, first: number, after: string | null | undefined): Promise<OrderPage> {
      const id = valid.accountId(accountId, 'accountId');
      assertCanReadAccount(requireCaller(caller), id);
      return ledger.listOrders(id, valid.pageSize(first), after ?? null);
    },
  };
}

export type LedgerService = ReturnType<typeof createLedgerService>;
