import { describe, expect, it } from 'vitest';
import { parseGatewayCount, tagLine } from '../../scripts/dev-gateways.js';

describe('npm run dev --gateways', () => {
  it('should read the count, 1 without the option', () => {
    expect(parseGatewayCount([])).toBe(1);
    expect(parseGatewayCount(['--gateways', '2'])).toBe(2);
    expect(parseGatewayCount(['--gateways=8'])).toBe(8);
  });

  it('should refuse bad counts and unknown arguments with one line naming the value', () => {
    for (const raw of ['0', '-1', 'abc', '9', '1.5', '']) {
      const result = parseGatewayCount(['--gateways', raw]);
      expect(result).toBeInstanceOf(Error);
      expect((result as Error).message).toBe(`--gateways must be a whole number from 1 to 8 (got "${raw}")`);
    }
    expect((parseGatewayCount(['--gateway', '2']) as Error).message).toMatch(/^unknown argument "--gateway"/);
  });

  it('should tag a JSON line with a field and any other line with a prefix', () => {
    const tagged = tagLine('{"level":30,"msg":"stopped"}', 2);
    expect(JSON.parse(tagged)).toEqual({ gateway: 2, level: 30, msg: 'stopped' });
    expect(tagLine('[18:00:00.000] INFO: stopped', 1)).toBe('gateway 1 | [18:00:00.000] INFO: stopped');
  });
});
