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

/** What a declared subscription field allows (CONTRACT.md, `@topic`): its readScope, or the owner field pinned to held accounts. */
export interface StreamAccessRule {
  readonly field: string;
  readonly readScope: string;
  /** The payload field holding an account id; absent: readable with readScope only. */
  readonly owner?: string;
}

/**
 * A declared field: the readScope reads everything; any other caller must filter `owner` on accounts it holds
 * (`ownerValues`: the values its filter gives that field, undefined when it gives none).
 */
export function assertCanSubscribe(caller: Caller, rule: StreamAccessRule, ownerValues: readonly string[] | undefined): void {
  if (caller.scopes.has(rule.readScope)) return;
  if (rule.owner === undefined) throw forbidden(`subscribing to ${rule.field} (scope ${rule.readScope})`);
  if (ownerValues !== undefined && ownerValues.length > 0 && ownerValues.every((value) => caller.accounts.has(value))) return;
  throw forbidden(`subscribing to ${rule.field}: filter ${rule.owner} on an account you hold, or use scope ${rule.readScope}`);
}
