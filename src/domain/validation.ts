import { badInput } from '../errors.js';

/** Input rules of the contract. Each returns the value it checked, or throws BAD_USER_INPUT. */

export const MAX_AMOUNT = 10n ** 15n;

export function positiveAmount(value: bigint, field = 'amount'): bigint {
  if (value <= 0n) throw badInput(`${field} must be a positive integer of minor units`, field);
  if (value > MAX_AMOUNT) throw badInput(`${field} must be at most 10^15 minor units`, field);
  return value;
}

function matching(pattern: RegExp, rule: string) {
  return (value: string, field: string): string => {
    if (!pattern.test(value)) throw badInput(`${field} must be ${rule}`, field);
    return value;
  };
}

export const accountId = matching(/^[A-Za-z0-9_-]{1,64}$/, '1-64 of [A-Za-z0-9_-]');
export const currencyCode = matching(/^[A-Z]{3}$/, 'an ISO 4217 code of three upper-case letters');
export const productCode = matching(/^[a-z0-9._-]{1,64}$/, '1-64 of [a-z0-9._-]');
export const subscriberId = matching(/^[A-Za-z0-9._-]{1,64}$/, '1-64 of [A-Za-z0-9._-]');
export const orderId = matching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'an order id (UUID)');

export function boundedText(value: string, field: string, max: number, min = 1): string {
  // Length in code points, so an emoji counts once.
  const length = [...value].length;
  if (length < min || length > max) throw badInput(`${field} must be ${min}-${max} characters`, field);
  if (/[\u0000]/.test(value)) throw badInput(`${field} must not contain NUL characters`, field);
  // A lone UTF-16 surrogate (JSON can carry one) reaches PostgreSQL as U+FFFD: two different keys would become one.
  if (/\p{Surrogate}/u.test(value)) throw badInput(`${field} must be well-formed Unicode (a lone surrogate was found)`, field);
  return value;
}

export const idempotencyKey = (value: string, field = 'idempotencyKey') => boundedText(value, field, 128);
export const ownerName = (value: string) => boundedText(value.trim(), 'owner', 200);
export const orderReference = (value: string) => boundedText(value, 'reference', 128, 0);

export function pageSize(value: number, field = 'first'): number {
  if (!Number.isInteger(value) || value < 1 || value > 100) throw badInput(`${field} must be an integer from 1 to 100`, field);
  return value;
}
