import { describe, expect, it } from 'vitest';
import {
  assertCanManageAccounts,
  assertCanPlaceOrder,
  assertCanReadAccount,
  assertCanReadOrder,
  assertCanSubscribe,
  requireCaller,
} from '../../src/domain/access.js';
import type { Caller } from '../../src/domain/caller.js';
import { AppError } from '../../src/errors.js';

const caller = (scopes: string[], accounts: string[] = []): Caller => ({
  sub: 'alice',
  scopes: new Set(scopes),
  accounts: new Set(accounts),
  expiresAt: new Date(Date.now() + 60_000),
});

const orders = { field: 'orderSettled', readScope: 'orders:read:all', owner: 'accountId' };
const ownerless = { field: 'auditEvents', readScope: 'audit:read' };

const codeOf = (check: () => void): string | undefined => {
  try {
    check();
    return undefined;
  } catch (error) {
    return error instanceof AppError ? error.code : 'not an AppError';
  }
};

describe('the access rules of CONTRACT.md', () => {
  it('should refuse an anonymous caller as UNAUTHENTICATED', () => {
    expect(codeOf(() => requireCaller(null))).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['openAccount/deposit with accounts:write', () => assertCanManageAccounts(caller(['accounts:write'])), undefined],
    ['openAccount/deposit without it', () => assertCanManageAccounts(caller(['orders:write', 'orders:read:all'])), 'FORBIDDEN'],
    ['placeOrder on a held account', () => assertCanPlaceOrder(caller(['orders:write'], ['a']), 'a'), undefined],
    [
      'placeOrder on any account with accounts:write',
      () => assertCanPlaceOrder(caller(['orders:write', 'accounts:write']), 'a'),
      undefined,
    ],
    ['placeOrder on another account', () => assertCanPlaceOrder(caller(['orders:write'], ['b']), 'a'), 'FORBIDDEN'],
    ['placeOrder without orders:write', () => assertCanPlaceOrder(caller(['accounts:write'], ['a']), 'a'), 'FORBIDDEN'],
    ['reading a held account', () => assertCanReadAccount(caller([], ['a']), 'a'), undefined],
    ['reading any account with orders:read:all', () => assertCanReadAccount(caller(['orders:read:all']), 'a'), undefined],
    ['reading another account', () => assertCanReadAccount(caller(['orders:write', 'accounts:write'], ['b']), 'a'), 'FORBIDDEN'],
    ['reading an order of a held account', () => assertCanReadOrder(caller([], ['a']), 'a'), undefined],
    ['reading an order of another account', () => assertCanReadOrder(caller(['accounts:write'], ['b']), 'a'), 'FORBIDDEN'],
    [
      'reading a missing order without orders:read:all',
      () => assertCanReadOrder(caller(['accounts:write'], ['b']), undefined),
      'FORBIDDEN',
    ],
    [
      'reading a missing order with orders:read:all (then null)',
      () => assertCanReadOrder(caller(['orders:read:all']), undefined),
      undefined,
    ],
    ['subscribing to everything with the readScope', () => assertCanSubscribe(caller(['orders:read:all']), orders, undefined), undefined],
    ['subscribing filtered on a held account', () => assertCanSubscribe(caller([], ['a']), orders, ['a']), undefined],
    ['subscribing filtered on held accounts only', () => assertCanSubscribe(caller([], ['a', 'b']), orders, ['a', 'b']), undefined],
    ['subscribing without a filter', () => assertCanSubscribe(caller([], ['a']), orders, undefined), 'FORBIDDEN'],
    ['subscribing filtered on another account', () => assertCanSubscribe(caller([], ['a']), orders, ['b']), 'FORBIDDEN'],
    ['subscribing filtered on a held and another account', () => assertCanSubscribe(caller([], ['a']), orders, ['a', 'b']), 'FORBIDDEN'],
    ['subscribing with another scope only', () => assertCanSubscribe(caller(['orders:write'], ['a']), orders, undefined), 'FORBIDDEN'],
    ['an ownerless field with the readScope', () => assertCanSubscribe(caller(['audit:read']), ownerless, undefined), undefined],
    ['an ownerless field with accounts but not the readScope', () => assertCanSubscribe(caller([], ['a']), ownerless, ['a']), 'FORBIDDEN'],
  ])('%s', (_what, check, code) => {
    expect(codeOf(check)).toBe(code);
  });

  it("should refuse a missing order with the very error of another account's order, so ids cannot be probed", () => {
    const holder = caller(['orders:write'], ['b']);
    const errorOf = (check: () => void) => {
      try {
        check();
      } catch (error) {
        return error;
      }
      throw new Error('expected a refusal');
    };
    const missing = errorOf(() => assertCanReadOrder(holder, undefined));
    const foreign = errorOf(() => assertCanReadOrder(holder, 'a'));
    expect(missing).toBeInstanceOf(AppError);
    expect([(missing as AppError).code, (missing as AppError).message]).toEqual([
      (foreign as AppError).code,
      (foreign as AppError).message,
    ]);
  });
});
