import { AppError } from '../errors.js';
import { type Caller, hasScope } from './caller.js';

/** The access rules of CONTRACT.md, as plain functions over a verified caller. */

export function requireCaller(caller: Caller | null): Caller {
  if (!caller) throw new AppError('UNAUTHENTICATED', 'an access token is required: send Authorization: Bearer <JWT>');
  return caller;
}

const forbidden = (what: string) => new AppError('FORBIDDEN', `the access token does not allow ${what}`);

export function assertCanManageAccounts(caller: Caller): void {
  if (!hasScope(caller, 'accounts:write')) throw forbidden('account management (scope accounts:write)');
}

export function assertCanPlaceOrder(caller: Caller, accountId: string): void {
  if (!hasScope(caller, 'orders:write')) throw forbidden('placing orders (scope orders:write)');
  if (!caller.accounts.has(accountId) && !hasScope(caller, 'accounts:write')) {
    throw forbidden('placing orders on this account');
  }
}

export const canReadAccount = (caller: Caller, accountId: string): boolean =>
  caller.accounts.has(accountId) || hasScope(caller, 'orders:read:all');

export function assertCanReadAccount(caller: Caller, accountId: string): void {
  if (!canReadAccount(caller, accountId)) throw forbidden('reading this account');
}

/**
 * `order(id)`: the order's account is readable. A missing order (`accountId` undefined) is refused exactly as another
 * account's order is, unless the caller may read every order (then it gets null): otherwise FORBIDDEN against null
 * would tell a caller which order ids exist.
 */
export function assertCanReadOrder(caller: Caller, accountId: string | undefined): void {
  const allowed = accountId === undefined ? hasScope(caller, 'orders:read:all') : canReadAccount(caller, accountId);
  if (!allowed) throw forbidden('reading this order');
}

/** `orderSettled`: scope orders:read:all, or a filter on an account the caller holds. */
export function assertCanSubscribe(caller: Caller, filterAccountId: string | undefined): void {
  if (hasScope(caller, 'orders:read:all')) return;
  if (filterAccountId !== undefined && caller.accounts.has(filterAccountId)) return;
  throw forbidden('subscribing to these orders: filter on an account you hold, or use scope orders:read:all');
}
