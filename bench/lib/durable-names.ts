/** How the durable-commits scenario names its subscriptions: shared by the scenario and its swarm processes. */

/** Subscription i's subscriberId: a consumer group of its own (`<prefix>.<sub>.<subscriberId>`, CONTRACT.md). */
export const subscriberIdOf = (prefix: string, index: number): string => `${prefix}-${index}`;

/** The account subscription i filters on: `accounts` accounts shared round-robin. */
export const accountOf = (prefix: string, accounts: number, index: number): string => `${prefix}-${index % accounts}`;
