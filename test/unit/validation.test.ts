import { describe, expect, it } from 'vitest';
import { boundedText, idempotencyKey } from '../../src/domain/validation.js';
import { appErrorOf } from '../support/app-errors.js';

const codeOf = (run: () => unknown) => appErrorOf(run)?.code;

describe('text inputs', () => {
  it.each([
    ['a lone high surrogate', 'key-\ud801'],
    ['a lone low surrogate', '\udbff-key'],
    ['two surrogates in the wrong order', '\udc00\ud800'],
    ['a NUL character', 'a\u0000b'],
    ['nothing', ''],
  ])('should refuse %s as BAD_USER_INPUT', (_what, value) => {
    expect(codeOf(() => idempotencyKey(value))).toBe('BAD_USER_INPUT');
  });

  it('should accept characters outside the BMP and count each as one', () => {
    const phones = '📱'.repeat(4);
    expect(boundedText(phones, 'reference', 4)).toBe(phones);
    expect(codeOf(() => boundedText(phones, 'reference', 3))).toBe('BAD_USER_INPUT');
  });
});
