import * as valid from './validation.js';

type Check = (value: unknown, field: string) => unknown;

const text =
  (check: (value: string, field: string) => string): Check =>
  (value, field) =>
    check(String(value), field);

/**
 * Filter values the schema's types cannot refuse but the contract calls malformed (a currency of lower-case letters,
 * a negative amount), by input type and field: BAD_USER_INPUT rather than a filter that silently never matches.
 * A declared field's filter without rules here is taken as its types allow.
 */
const FILTER_VALUE_RULES: Readonly<Record<string, Readonly<Record<string, Check>>>> = {
  OrderFilter: {
    accountId: text(valid.accountId),
    currency: text(valid.currencyCode),
    product: text(valid.productCode),
    minAmount: (value, field) => (value === 0n ? 0n : valid.positiveAmount(value as bigint, field)),
  },
};

/** Checks a filter argument's values by its input type's rules; throws BAD_USER_INPUT naming `filter.<field>`. */
export function checkFilterValues(inputType: string, filter: Readonly<Record<string, unknown>>): void {
  const rules = FILTER_VALUE_RULES[inputType];
  if (!rules) return;
  for (const [field, value] of Object.entries(filter)) {
    const check = rules[field];
    if (check === undefined || value === null || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) check(one, `filter.${field}`);
  }
}
