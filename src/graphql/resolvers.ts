import type { Account } from '../domain/account.js';
import type { DepositInput, OpenAccountInput, PlaceOrderInput } from '../domain/ledger-service.js';
import type { OrderPage } from '../ports/ledger.js';
import type { GraphQLContext } from './context.js';
import { DateTime, MinorAmount } from './scalars.js';

interface PageArgs {
  first: number;
  after?: string | null;
}

const toConnection = (page: OrderPage) => ({
  edges: page.orders.map(({ order, cursor }) => ({ cursor, node: order })),
  pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.orders.at(-1)?.cursor ?? null },
});

/** Thin: each field hands its arguments and caller to a use case. The declared Subscription fields are topic-resolvers'. */
export const resolvers = {
  DateTime,
  MinorAmount,
  Query: {
    account: (_: unknown, args: { id: string }, ctx: GraphQLContext) => ctx.ledger.account(ctx.caller, args.id),
    order: (_: unknown, args: { id: string }, ctx: GraphQLContext) => ctx.ledger.order(ctx.caller, args.id),
    orders: async (_: unknown, args: PageArgs & { accountId: string }, ctx: GraphQLContext) =>
      toConnection(await ctx.ledger.orders(ctx.caller, args.accountId, args.first, args.after)),
  },
  Mutation: {
    openAccount: (_: unknown, args: { input: OpenAccountInput }, ctx: GraphQLContext) => ctx.ledger.openAccount(ctx.caller, args.input),
    deposit: (_: unknown, args: { input: DepositInput }, ctx: GraphQLContext) => ctx.ledger.deposit(ctx.caller, args.input),
    placeOrder: (_: unknown, args: { input: PlaceOrderInput }, ctx: GraphQLContext) => ctx.ledger.placeOrder(ctx.caller, args.input),
  },
  Account: {
    orders: async (account: Account, args: PageArgs, ctx: GraphQLContext) =>
      toConnection(await ctx.ledger.orders(ctx.caller, account.id, args.first, args.after)),
  },
};
