import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { buildSchema, extendSchema, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { EXAMPLES_SCHEMA, examplesSchemaPaths } from '../../scripts/demo/examples-schema.js';
import { parseGatewayCount, tagLine } from '../../scripts/dev-gateways.js';
import { buildTopicCatalog } from '../../src/subscriptions/topic-catalog.js';

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

describe("the examples' SDL the dev and demo gateways load", () => {
  it('should be examples/topups.graphql by an absolute path unless SCHEMA_PATHS is set, even blank', () => {
    const path = examplesSchemaPaths({});
    expect(path).toBe(EXAMPLES_SCHEMA);
    expect(isAbsolute(path)).toBe(true);
    expect(path.endsWith('examples/topups.graphql')).toBe(true);
    expect(existsSync(path)).toBe(true);
    expect(examplesSchemaPaths({ SCHEMA_PATHS: 'mine.graphql' })).toBe('mine.graphql');
    expect(examplesSchemaPaths({ SCHEMA_PATHS: '' })).toBe('');
  });

  it('should declare topupCompleted on TOPUPS_TOPIC by the rules of the contract', () => {
    const gateway = buildSchema(readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8'));
    const schema = extendSchema(gateway, parse(readFileSync(EXAMPLES_SCHEMA, 'utf8')));
    const topUps = (env: Record<string, string>) => buildTopicCatalog(schema, env).find((d) => d.field === 'topupCompleted');
    expect(topUps({})).toMatchObject({
      topic: 'topups.completed',
      format: 'CLOUDEVENTS',
      key: 'accountId',
      owner: 'accountId',
      readScope: 'topups:read:all',
      payloadField: 'topup',
    });
    // status is a list (`status: FAILED` is a list of one), minAmount a bound on amount.
    expect(topUps({})?.filterArgument?.fields.map((f) => [f.name, f.payloadField, f.kind])).toEqual([
      ['accountId', 'accountId', 'equals'],
      ['status', 'status', 'anyOf'],
      ['minAmount', 'amount', 'min'],
    ]);
    expect(topUps({ TOPUPS_TOPIC: 'demo.topups.completed' })?.topic).toBe('demo.topups.completed');
  });
});
