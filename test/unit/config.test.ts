import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadTokenSettings } from '../../src/config.js';

const secret = 'x'.repeat(32);

describe('loadConfig', () => {
  it('should apply the contract defaults', () => {
    const config = loadConfig({ AUTH_JWT_SECRET: secret });
    expect(config).toMatchObject({
      PORT: 4000,
      HOST: '127.0.0.1',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      ORDERS_TOPIC: 'orders.settled',
      KAFKA_GROUP_PREFIX: 'gql',
      ORDERS_TOPIC_PARTITIONS: 6,
      authSecretGenerated: false,
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: ' ' }, 'PORT'],
    [{ PORT: '1e3' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ HOST: '0.0.0.0:4000' }, 'HOST'],
    [{ HOST: 'bad host' }, 'HOST'],
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: '127.0.0.1:99999' }, 'KAFKA_BROKERS'],
    [{ KAFKA_BROKERS: '127.0.0.1:9092,:9093' }, 'KAFKA_BROKERS'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://db:54x2/app' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres:///app' }, 'DATABASE_URL'],
    [{ RELAY_POLL_MS: '5' }, 'RELAY_POLL_MS'],
    [{ RELAY_LINGER_MS: '-1' }, 'RELAY_LINGER_MS'],
    [{ DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX'],
    [{ RELAY_THREAD: 'no' }, 'RELAY_THREAD'],
    [{ ORDERS_TOPIC: 'bad topic' }, 'ORDERS_TOPIC'],
    [{ KAFKA_GROUP_PREFIX: 'a.b' }, 'KAFKA_GROUP_PREFIX'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ EXPLORER_ENABLED: 'maybe' }, 'EXPLORER_ENABLED'],
  ])('should reject %j naming %s in one line', (env, variable) => {
    let error: unknown;
    try {
      loadConfig({ AUTH_JWT_SECRET: secret, ...env });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toContain(variable);
    expect((error as Error).message).not.toContain('\n');
  });

  it('should accept IP addresses and host names, and broker lists with spaces', () => {
    const config = loadConfig({ AUTH_JWT_SECRET: secret, HOST: '::', KAFKA_BROKERS: 'kafka-1:9092, 10.0.0.2:9093', PORT: '0' });
    expect(config.HOST).toBe('::');
    expect(config.KAFKA_BROKERS).toEqual(['kafka-1:9092', '10.0.0.2:9093']);
    expect(config.PORT).toBe(0);
    expect(loadConfig({ AUTH_JWT_SECRET: secret, HOST: 'gateway.internal' }).HOST).toBe('gateway.internal');
  });

  it('should never print the password of a rejected DATABASE_URL', () => {
    for (const url of ['postgres://app:s3cret@db:99999/x', 'postgresql:/app:s3cret@db/x']) {
      expect(() => loadConfig({ AUTH_JWT_SECRET: secret, DATABASE_URL: url })).toThrow(/^invalid configuration: DATABASE_URL (?!.*s3cret)/);
    }
  });

  it('should list the allowed values of a variable that takes one of a few', () => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: secret, LOG_FORMAT: 'xml' })).toThrow(
      'invalid configuration: LOG_FORMAT must be one of json, pretty (got "xml")',
    );
  });

  it('should require AUTH_JWT_SECRET outside development', () => {
    expect(() => loadConfig({})).toThrow(/AUTH_JWT_SECRET/);
  });

  it('should generate a secret in development', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config.authSecretGenerated).toBe(true);
    expect(config.AUTH_JWT_SECRET.length).toBeGreaterThanOrEqual(32);
  });

  it.each([
    ['900', 900],
    ['90s', 90],
    ['15m', 900],
    ['24h', 86_400],
    ['7d', 604_800],
  ])('should read AUTH_MAX_TOKEN_LIFETIME=%s as %i seconds', (value, seconds) => {
    expect(loadConfig({ AUTH_JWT_SECRET: secret, AUTH_MAX_TOKEN_LIFETIME: value }).AUTH_MAX_TOKEN_LIFETIME).toBe(seconds);
    expect(loadTokenSettings({ AUTH_MAX_TOKEN_LIFETIME: value }).AUTH_MAX_TOKEN_LIFETIME).toBe(seconds);
  });

  it.each(['2w', '1.5h', '0', '0h', '-1', '24 h', '3651d'])('should stop at AUTH_MAX_TOKEN_LIFETIME=%s, naming it', (value) => {
    expect(() => loadConfig({ AUTH_JWT_SECRET: secret, AUTH_MAX_TOKEN_LIFETIME: value })).toThrow(
      /^invalid configuration: AUTH_MAX_TOKEN_LIFETIME /,
    );
    expect(() => loadTokenSettings({ AUTH_MAX_TOKEN_LIFETIME: value })).toThrow(/^invalid configuration: AUTH_MAX_TOKEN_LIFETIME /);
  });

  it('should leave audience, issuer and maximum lifetime unchecked by default', () => {
    const config = loadConfig({ AUTH_JWT_SECRET: secret });
    expect([config.AUTH_JWT_AUDIENCE, config.AUTH_JWT_ISSUER, config.AUTH_MAX_TOKEN_LIFETIME]).toEqual([undefined, undefined, undefined]);
    expect(loadConfig({ AUTH_JWT_SECRET: secret, AUTH_JWT_AUDIENCE: 'gw', AUTH_JWT_ISSUER: 'id' })).toMatchObject({
      AUTH_JWT_AUDIENCE: 'gw',
      AUTH_JWT_ISSUER: 'id',
    });
  });
});
