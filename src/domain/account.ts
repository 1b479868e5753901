export interface Account {
  readonly id: string;
  readonly owner: string;
  readonly currency: string;
  /** Minor units; never below zero. */
  readonly balance: bigint;
  readonly createdAt: Date;
}
