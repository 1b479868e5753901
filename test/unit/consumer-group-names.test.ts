import { describe, expect, it } from 'vitest';
import { durableGroupId, ephemeralGroupId, isDurableGroupId } from '../../src/adapters/kafka/consumer-group-names.js';
import { appErrorOf } from '../support/app-errors.js';

const codeOf = (run: () => unknown) => appErrorOf(run)?.code;

describe('consumer group names', () => {
  it('should name a durable group <prefix>.<sub>.<subscriberId> and an ephemeral one <prefix>.ephemeral.<uuid>', () => {
    expect(durableGroupId('gql', 'recon', 'ledger.v2')).toBe('gql.recon.ledger.v2');
    expect(ephemeralGroupId('gql')).toMatch(/^gql\.ephemeral\.[0-9a-f-]{36}$/);
  });

  it('should refuse a durable group to a sub that would make names ambiguous, and a bad subscriberId', () => {
    // 'alice.ops' + 'x' and 'alice' + 'ops.x' would both be gql.alice.ops.x.
    expect(codeOf(() => durableGroupId('gql', 'alice.ops', 'x'))).toBe('FORBIDDEN');
    expect(codeOf(() => durableGroupId('gql', 'ephemeral', 'x'))).toBe('FORBIDDEN');
    expect(codeOf(() => durableGroupId('gql', 'alice', 'ops.x'))).toBeUndefined();
    expect(codeOf(() => durableGroupId('gql', 'alice', 'a b'))).toBe('BAD_USER_INPUT');
  });

  it('should tell the durable groups of a prefix from its ephemeral ones and from other prefixes', () => {
    expect(isDurableGroupId('gql', durableGroupId('gql', 'recon', 'ledger.v2'))).toBe(true);
    expect(isDurableGroupId('gql', ephemeralGroupId('gql'))).toBe(false);
    expect(isDurableGroupId('gql', 'gql-other.recon.main')).toBe(false);
    expect(isDurableGroupId('gql', 'other.recon.main')).toBe(false);
    expect(isDurableGroupId('gql', 'gql.recon')).toBe(false);
    expect(isDurableGroupId('gql', 'gql..main')).toBe(false);
  });
});
