/** A settled order: the full final state every downstream system receives. */
export interface Order {
  readonly id: string;
  readonly accountId: string;
  /** Minor units. */
  readonly amount: bigint;
  readonly currency: string;
  readonly product: string;
  readonly reference: string | null;
  readonly status: 'SETTLED';
  /** The account's balance right after this order's debit. */
  readonly balanceAfter: bigint;
  readonly idempotencyKey: string;
  readonly createdAt: Date;
  readonly settledAt: Date;
}
