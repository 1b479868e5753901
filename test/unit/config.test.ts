import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

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
    [{ KAFKA_BROKERS: 'localhost' }, 'KAFKA_BROKERS'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ ORDERS_TOPIC: 'bad topic' }, 'ORDERS_TOPIC'],
    [{ KAFKA_GROUP_PREFIX: 'a.b' }, 'KAFKA_GROUP_PREFIX'],
    [{ AUTH_JWT_SECRET: 'short' }, 'AUTH_JWT_SECRET'],
    [{ NODE_ENV: 'staging' }, 'NODE_ENV'],
    [{ EXPLORER_ENABLED: 'maybe' }, 'EXPLORER_ENABLED'],
  ])('should reject %j naming %s in one line', (env, variable) => {
    const attempt = () => loadConfig({ AUTH_JWT_SECRET: secret, ...env });
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      expect((error as ConfigError).variable).toBe(variable);
      expect((error as Error).message).toContain(variable);
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('should require AUTH_JWT_SECRET outside development', () => {
    expect(() => loadConfig({})).toThrow(/AUTH_JWT_SECRET/);
  });

  it('should generate a secret in development', () => {
    const config = loadConfig({ NODE_ENV: 'development' });
    expect(config.authSecretGenerated).toBe(true);
    expect(config.AUTH_JWT_SECRET.length).toBeGreaterThanOrEqual(32);
  });
});
